"""Applications over REST through Envoy: the original integration flow, the one pipeline,
roles, paging, and two racing updates that must not lose a transition."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import httpx
import pytest

from tests import factories
from tests.support.rest import apply, bearer, register


@pytest.fixture
def hiring(rest: httpx.Client) -> dict[str, Any]:
    """A company user, their company and one published job."""
    account = factories.owner(rest, company_name="Hiring Co")
    account["job"] = factories.job(rest, account)
    return account


def test_the_original_integration_flow(rest: httpx.Client) -> None:
    """register a company user, login, profile, search, company, job, applications, companies;
    then a candidate applies, the company moves it to interviewing, the candidate sees it."""
    company_user = register(rest, "company")
    login = rest.post("/api/auth/login", json={"email": company_user["user"]["email"],
                                               "password": "Vx7!kQ9#mZ2p"})
    assert login.status_code == 200
    token = bearer(login.json())
    assert rest.get("/api/users/profile", headers=token).status_code == 200
    assert rest.get("/api/jobs/?search=software").status_code == 200
    company = rest.post("/api/companies", headers=token, json={
        "name": "Integration Test Co", "description": "Testing", "industry": "Technology",
        "company_size": "11-50", "website": "https://integration.example"})
    assert company.status_code == 201
    job = rest.post("/api/jobs", headers=token, json={
        "company_id": company.json()["company"]["id"], "title": "Senior Software Engineer",
        "description": "Join our team to build scalable web applications with modern tools.",
        "requirements": "5+ years Python experience", "location": "San Francisco, CA",
        "employment_type": "full-time", "experience_level": "senior", "salary_min": 120000,
        "salary_max": 180000, "currency": "USD", "skills_required": ["Python", "Flask"],
        "benefits": ["Health insurance"], "remote_work_allowed": True})
    assert job.status_code == 201, job.text
    job_id = job.json()["job"]["id"]
    assert rest.get("/api/applications", headers=token).status_code == 200
    assert rest.get("/api/companies", headers=token).status_code == 200
    rest.post(f"/api/jobs/{job_id}/publish", headers=token, json={})

    candidate = register(rest, "candidate")
    applied = apply(rest, candidate, job_id, expected_salary=150000, availability_date="2027-01-15")
    assert applied.status_code == 201, applied.text
    application = applied.json()["application"]
    assert application["status"] == "applied"
    moved = rest.put(f"/api/applications/{application['id']}", headers=token,
                     json={"status": "interviewing", "status_reason": "Strong profile",
                           "interview_type": "video"})
    assert moved.status_code == 200, moved.text
    seen = rest.get(f"/api/applications/{application['id']}", headers=bearer(candidate)).json()
    assert seen["application"]["status"] == "interviewing"
    assert [(h["from_status"], h["to_status"]) for h in seen["application"]["status_history"]] == [
        ("", "applied"), ("applied", "interviewing")]
    assert rest.get(f"/api/jobs/{job_id}").json()["job"]["application_count"] == 1


class TestApplying:
    def test_only_candidates_apply_once_to_open_jobs(self, rest: httpx.Client,
                                                     hiring: dict[str, Any]) -> None:
        job_id = hiring["job"]["id"]
        candidate = register(rest, "candidate")
        assert apply(rest, candidate, job_id).status_code == 201
        again = apply(rest, candidate, job_id)
        assert again.status_code == 409
        assert apply(rest, hiring, job_id).status_code == 403
        draft = factories.job(rest, hiring, publish=False)
        assert apply(rest, candidate, draft["id"]).status_code == 400
        assert apply(rest, candidate, 999999).status_code == 400

    def test_the_answer_is_the_application_as_read_back(self, rest: httpx.Client,
                                                         hiring: dict[str, Any]) -> None:
        """The 201 answer, built from what the submitting transaction holds, is exactly what
        a later read (entities, history and job read back) shows the candidate, and the
        company's members got their notification in the same transaction."""
        candidate = register(rest, "candidate")
        created = apply(rest, candidate, hiring["job"]["id"], expected_salary=120000,
                        cover_letter="Dear team", availability_date="2027-02-01")
        assert created.status_code == 201, created.text
        answer = created.json()["application"]
        read = rest.get(f"/api/applications/{answer['id']}", headers=bearer(candidate)).json()
        assert answer == read["application"]
        assert answer["job"]["title"] == hiring["job"]["title"]
        assert answer["candidate"]["id"] == candidate["user"]["id"]
        assert [(h["from_status"], h["to_status"]) for h in answer["status_history"]] == [
            ("", "applied")]
        inbox = rest.get("/api/notifications", headers=bearer(hiring)).json()["notifications"]
        assert f"/api/applications/{answer['id']}" in [n["action_url"] for n in inbox]

    def test_bad_input_is_named(self, rest: httpx.Client, hiring: dict[str, Any]) -> None:
        candidate = register(rest, "candidate")
        response = apply(rest, candidate, hiring["job"]["id"], expected_salary=-5,
                         availability_date="soon", resume_url="ftp://x")
        assert response.status_code == 400
        found = {v["field"] for d in response.json()["details"]
                 for v in d.get("field_violations", [])}
        assert {"expected_salary", "availability_date", "resume_url"} <= found


class TestPipeline:
    def test_transitions_are_checked_and_aliases_accepted(self, rest: httpx.Client,
                                                          hiring: dict[str, Any]) -> None:
        candidate = register(rest, "candidate")
        app_id = apply(rest, candidate, hiring["job"]["id"]).json()["application"]["id"]
        path = f"/api/applications/{app_id}"
        assert rest.put(path, headers=bearer(hiring), json={"status": "hired"}).status_code == 400
        assert rest.put(path, headers=bearer(hiring),
                        json={"status": "reviewed"}).json()["application"]["status"] == "screening"
        assert rest.put(path, headers=bearer(hiring), json={"status": "rejected"}).status_code == 400
        rejected = rest.put(path, headers=bearer(hiring),
                            json={"status": "declined", "rejection_reason": "Position filled"})
        assert rejected.json()["application"]["status"] == "rejected"
        assert rejected.json()["application"]["rejection_reason"] == "Position filled"
        assert rest.delete(path, headers=bearer(candidate)).status_code == 400, "final"

    def test_the_candidate_withdraws_but_cannot_move_the_status(self, rest: httpx.Client,
                                                                hiring: dict[str, Any]) -> None:
        candidate = register(rest, "candidate")
        app_id = apply(rest, candidate, hiring["job"]["id"]).json()["application"]["id"]
        assert rest.put(f"/api/applications/{app_id}", headers=bearer(candidate),
                        json={"status": "hired"}).status_code == 403
        withdrawn = rest.delete(f"/api/applications/{app_id}", headers=bearer(candidate))
        assert withdrawn.status_code == 200
        assert withdrawn.json()["application"]["status"] == "withdrawn"

    def test_strangers_see_nothing(self, rest: httpx.Client, hiring: dict[str, Any]) -> None:
        candidate, stranger = register(rest, "candidate"), register(rest, "company")
        app_id = apply(rest, candidate, hiring["job"]["id"]).json()["application"]["id"]
        assert rest.get(f"/api/applications/{app_id}", headers=bearer(stranger)).status_code == 404
        assert rest.get(f"/api/applications/job/{hiring['job']['id']}",
                        headers=bearer(stranger)).status_code == 403

    def test_racing_updates_never_lose_a_transition(self, rest: httpx.Client,
                                                    hiring: dict[str, Any], envoy: Any) -> None:
        candidate = register(rest, "candidate")
        app_id = apply(rest, candidate, hiring["job"]["id"]).json()["application"]["id"]
        results: list[int] = []

        def move(status: str) -> None:
            with httpx.Client(base_url=envoy.base_url, timeout=10) as client:
                results.append(client.put(f"/api/applications/{app_id}", headers=bearer(hiring),
                                          json={"status": status}).status_code)

        threads = [threading.Thread(target=move, args=(s,)) for s in ("screening", "interviewing")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        # screening-then-interviewing is valid; interviewing-then-screening is refused (400):
        # whichever order the lock gave, every accepted change is in the history.
        assert sorted(results) in ([200, 200], [200, 400])
        final = rest.get(f"/api/applications/{app_id}", headers=bearer(candidate)).json()
        history = final["application"]["status_history"]
        assert len(history) == 1 + results.count(200)
        for previous, entry in itertools.pairwise(history):
            assert entry["from_status"] == previous["to_status"], "a chain without gaps"
        assert final["application"]["status"] == history[-1]["to_status"]


class TestLists:
    def test_my_applications_have_true_pagination(self, rest: httpx.Client,
                                                  hiring: dict[str, Any]) -> None:
        candidate = register(rest, "candidate")
        for _ in range(3):
            job = factories.job(rest, hiring)
            assert apply(rest, candidate, job["id"]).status_code == 201
        page = rest.get("/api/applications", headers=bearer(candidate),
                        params={"page": 2, "limit": 2}).json()
        assert page["pagination"] == {"page": 2, "limit": 2, "total": 3, "pages": 2}
        assert len(page["applications"]) == 1
        filtered = rest.get("/api/applications", headers=bearer(candidate),
                            params={"status": "pending"}).json()
        assert filtered["pagination"]["total"] == 3, "pending is an alias of applied"

    def test_per_job_list_counts_each_status(self, rest: httpx.Client,
                                             hiring: dict[str, Any]) -> None:
        job_id = hiring["job"]["id"]
        ids = [apply(rest, register(rest, "candidate"), job_id).json()["application"]["id"]
               for _ in range(3)]
        rest.put(f"/api/applications/{ids[0]}", headers=bearer(hiring), json={"status": "screening"})
        for path in (f"/api/applications/job/{job_id}", f"/api/jobs/{job_id}/applications"):
            body = rest.get(path, headers=bearer(hiring), params={"limit": 2}).json()
            assert body["status_summary"] == {
                "applied": 2, "screening": 1, "interviewing": 0, "offered": 0, "hired": 0,
                "rejected": 0, "withdrawn": 0}
            assert body["pagination"]["total"] == 3
            assert body["applications"][0]["candidate"]["email"]

    def test_list_entries_are_what_each_viewer_sees_in_the_detail(
            self, rest: httpx.Client, hiring: dict[str, Any]) -> None:
        """The lists (hot reads on rows) answer each application exactly as its detail (the
        entity path) does for the same viewer: the company's notes stay with the company, the
        candidate's e-mail goes to the company only while the application is not withdrawn,
        the whole history comes along."""
        job_id = hiring["job"]["id"]
        staying, leaving = register(rest, "candidate"), register(rest, "candidate")
        kept = apply(rest, staying, job_id, expected_salary=90000).json()["application"]["id"]
        gone = apply(rest, leaving, job_id).json()["application"]["id"]
        assert rest.put(f"/api/applications/{kept}", headers=bearer(hiring), json={
            "status": "screening", "notes": "Call back"}).status_code == 200
        assert rest.delete(f"/api/applications/{gone}", headers=bearer(leaving)).status_code == 200

        def detail(viewer: dict[str, Any], app_id: int) -> dict[str, Any]:
            answer: dict[str, Any] = rest.get(f"/api/applications/{app_id}",
                                              headers=bearer(viewer)).json()["application"]
            return answer

        for path in ("/api/applications", f"/api/applications/job/{job_id}",
                     f"/api/jobs/{job_id}/applications"):
            listed = rest.get(path, headers=bearer(hiring)).json()["applications"]
            assert listed == [detail(hiring, gone), detail(hiring, kept)], path  # newest first
        assert listed[0]["candidate"].get("email", "") == ""
        assert listed[1]["candidate"]["email"] and listed[1]["notes"] == "Call back"
        for candidate, app_id in ((staying, kept), (leaving, gone)):
            mine = rest.get("/api/applications", headers=bearer(candidate)).json()
            assert mine["applications"] == [detail(candidate, app_id)]
            assert mine["applications"][0].get("notes", "") == ""
        assert len(mine["applications"][0]["status_history"]) == 2

    def test_a_page_past_the_end_keeps_the_true_total_and_sorts_hold(
            self, rest: httpx.Client, hiring: dict[str, Any]) -> None:
        job_id = hiring["job"]["id"]
        ids = [apply(rest, register(rest, "candidate"), job_id).json()["application"]["id"]
               for _ in range(3)]
        rest.put(f"/api/applications/{ids[1]}", headers=bearer(hiring), json={"status": "screening"})
        path = f"/api/applications/job/{job_id}"
        beyond = rest.get(path, headers=bearer(hiring), params={"page": 5, "limit": 2}).json()
        assert beyond["applications"] == []
        assert beyond["pagination"] == {"page": 5, "limit": 2, "total": 3, "pages": 2}
        by_status = rest.get(path, headers=bearer(hiring),
                             params={"sort_by": "status", "order": "asc"}).json()
        assert [a["id"] for a in by_status["applications"]] == [ids[2], ids[0], ids[1]]
        oldest = rest.get(path, headers=bearer(hiring), params={"order": "asc"}).json()
        assert [a["id"] for a in oldest["applications"]] == ids
        only = rest.get(path, headers=bearer(hiring), params={"status": "screening"}).json()
        assert [a["id"] for a in only["applications"]] == [ids[1]]
        assert only["pagination"]["total"] == 1

    def test_stats_by_role(self, rest: httpx.Client, hiring: dict[str, Any]) -> None:
        candidate = register(rest, "candidate")
        apply(rest, candidate, hiring["job"]["id"])
        mine = rest.get("/api/applications/stats", headers=bearer(candidate)).json()
        assert mine["user_type"] == "candidate"
        assert mine["stats"] == {"total": 1, "by_status": {"applied": 1}}
        company = rest.get("/api/applications/stats", headers=bearer(hiring)).json()
        assert company["stats"]["total"] >= 1
