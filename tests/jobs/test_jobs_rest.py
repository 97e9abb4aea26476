"""Jobs over REST through Envoy: life cycle, validation, search with filters, paging, cache."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from hotgigs.jobs import search as job_search
from tests import factories
from tests.factories import JOB_DESCRIPTION
from tests.support.rest import bearer, register


def fields(response: httpx.Response) -> set[str]:
    return {v["field"] for d in response.json()["details"] for v in d.get("field_violations", [])}


@pytest.fixture
def employer(rest: httpx.Client) -> dict[str, Any]:
    """A company user with a company of their own."""
    return factories.owner(rest, company_name=f"Employer {uuid.uuid4().hex[:6]}", industry="Software")


def search(rest: httpx.Client, **params: Any) -> dict[str, Any]:
    response = rest.get("/api/jobs", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestLifeCycle:
    def test_create_publish_pause_close(self, rest: httpx.Client, employer: dict[str, Any]) -> None:
        job = factories.job(rest, employer, publish=False)
        assert rest.get(f"/api/jobs/{job['id']}").status_code == 404, "drafts are not public"
        assert rest.get(f"/api/jobs/{job['id']}", headers=bearer(employer)).status_code == 200
        published = rest.post(f"/api/jobs/{job['id']}/publish", headers=bearer(employer), json={})
        assert published.json()["job"]["status"] == "active"
        assert published.json()["job"]["published_at"]
        detail = rest.get(f"/api/jobs/{job['id']}").json()["job"]
        assert detail["company"]["id"] == employer["company_id"]
        assert detail["application_count"] == 0
        assert detail["skills_required"] == ["python", "postgresql"]
        paused = rest.post(f"/api/jobs/{job['id']}/pause", headers=bearer(employer), json={})
        assert paused.json()["job"]["status"] == "paused"
        closed = rest.delete(f"/api/jobs/{job['id']}", headers=bearer(employer))
        assert closed.status_code == 200
        assert closed.json()["job"]["status"] == "closed"
        again = rest.post(f"/api/jobs/{job['id']}/publish", headers=bearer(employer), json={})
        assert again.status_code == 400, "closed is final"

    def test_validation_rules_from_the_original_api(self, rest: httpx.Client,
                                                     employer: dict[str, Any]) -> None:
        response = rest.post("/api/jobs", headers=bearer(employer), json={
            "company_id": employer["company_id"], "title": "QA", "description": "too short",
            "requirements": "short", "employment_type": "gig", "experience_level": "wizard",
            "salary_min": 90000, "salary_max": 10000, "skills_required": [f"s{i}" for i in range(21)],
            "benefits": [f"b{i}" for i in range(16)],
            "application_deadline": "2001-01-01T00:00:00Z"})
        assert response.status_code == 400
        assert {"title", "description", "requirements", "employment_type", "experience_level",
                "skills_required", "benefits", "application_deadline"} <= fields(response)
        salary = rest.post("/api/jobs", headers=bearer(employer), json={
            "company_id": employer["company_id"], "title": "Engineer", "description": JOB_DESCRIPTION,
            "employment_type": "contract", "experience_level": "mid", "salary_min": 9,
            "salary_max": 1})
        assert "salary_min" in fields(salary)

    def test_only_members_manage_jobs(self, rest: httpx.Client, employer: dict[str, Any]) -> None:
        job = factories.job(rest, employer)
        outsider, candidate = register(rest, "company"), register(rest, "candidate")
        assert rest.put(f"/api/jobs/{job['id']}", headers=bearer(outsider),
                        json={"title": "Hijacked job"}).status_code == 403
        assert rest.post("/api/jobs", headers=bearer(candidate), json={
            "company_id": employer["company_id"], "title": "x"}).status_code == 403
        assert rest.post("/api/jobs", headers=bearer(outsider), json={
            "company_id": employer["company_id"], "title": "Engineer", "description": JOB_DESCRIPTION,
            "employment_type": "contract", "experience_level": "mid"}).status_code == 403


class TestSearch:
    def test_original_integration_call_finds_published_jobs(self, rest: httpx.Client,
                                                            employer: dict[str, Any]) -> None:
        word = f"zx{uuid.uuid4().hex[:8]}"
        job = factories.job(rest, employer, title=f"Software {word} Developer")
        response = rest.get("/api/jobs/", params={"search": f"software {word}"})
        assert response.status_code == 200
        body = response.json()
        assert [j["id"] for j in body["jobs"]] == [job["id"]]
        assert body["pagination"] == {"limit": 20, "offset": 0, "total": 1}
        assert body["filters_applied"]["search"] == f"software {word}"

    def test_filters_are_applied_in_sql_with_a_true_total(self, rest: httpx.Client,
                                                          employer: dict[str, Any]) -> None:
        company = employer["company_id"]
        made = [
            factories.job(rest, employer, location="Berlin", employment_type="full-time",
                          experience_level="senior", salary_min=80000, salary_max=100000,
                          remote_work_allowed=True, skills_required=["Go"]),
            factories.job(rest, employer, location="Munich", employment_type="contract",
                          experience_level="mid", salary_min=40000, salary_max=50000),
            factories.job(rest, employer, location="Berlin", employment_type="part-time",
                          experience_level="entry", salary_min=20000, salary_max=30000),
        ]
        ids = [job["id"] for job in made]
        assert search(rest, company_id=company)["pagination"]["total"] == 3
        assert [j["id"] for j in search(rest, company_id=company, location="berl",
                                        order="asc")["jobs"]] == [ids[0], ids[2]]
        assert [j["id"] for j in search(rest, company_id=company, location="Berlni")["jobs"]] \
            == [ids[2], ids[0]], "typo-tolerant location"
        assert [j["id"] for j in search(rest, company_id=company, remote_only="true")["jobs"]] \
            == [ids[0]]
        assert [j["id"] for j in search(rest, company_id=company, salary_min=45000,
                                        salary_max=85000, order="asc")["jobs"]] == ids[:2]
        assert [j["id"] for j in search(rest, company_id=company, skills="go")["jobs"]] == [ids[0]]
        assert [j["id"] for j in search(rest, company_id=company, employment_type="contract",
                                        experience_level="mid")["jobs"]] == [ids[1]]
        by_salary = search(rest, company_id=company, sort_by="salary")
        assert [j["id"] for j in by_salary["jobs"]] == ids
        page = search(rest, company_id=company, limit=2, offset=2)
        assert page["pagination"] == {"limit": 2, "offset": 2, "total": 3}
        assert len(page["jobs"]) == 1

    def test_cursor_pages_have_no_gaps_or_duplicates(self, rest: httpx.Client,
                                                     employer: dict[str, Any]) -> None:
        made = {factories.job(rest, employer)["id"] for _ in range(5)}
        seen: list[int] = []
        params: dict[str, Any] = {"company_id": employer["company_id"], "limit": 2}
        while True:
            body = search(rest, **params)
            seen += [job["id"] for job in body["jobs"]]
            if not body["next_cursor"]:
                break
            params["cursor"] = body["next_cursor"]
        assert sorted(seen) == sorted(made)
        assert len(seen) == len(set(seen))

    def test_facets_count_all_matches(self, rest: httpx.Client, employer: dict[str, Any]) -> None:
        factories.job(rest, employer, employment_type="contract", remote_work_allowed=True)
        factories.job(rest, employer, employment_type="contract")
        factories.job(rest, employer, employment_type="internship", experience_level="entry")
        body = search(rest, company_id=employer["company_id"], include_facets="true", limit=1)
        assert body["facets"]["employment_type"] == {"contract": 2, "internship": 1}
        assert body["facets"]["experience_level"] == {"senior": 2, "entry": 1}
        assert body["facets"]["remote_work_allowed"] == 1

    def test_a_search_row_reads_like_the_job_detail(self, rest: httpx.Client,
                                                    employer: dict[str, Any]) -> None:
        """Search builds its jobs from rows, the detail from entities: the same fields."""
        job = factories.job(rest, employer, salary_min=50000, salary_max=70000,
                            location="Lisbon", benefits=["Lunch"], remote_work_allowed=True)
        found = search(rest, company_id=employer["company_id"])["jobs"]
        detail = rest.get(f"/api/jobs/{job['id']}").json()["job"]
        detail.pop("application_count")
        assert found == [detail]
        assert detail["company"]["name"] and detail["salary_max"] == 70000

    def test_forged_cursors_are_refused(self, rest: httpx.Client) -> None:
        """A cursor is the client's to forge: every bad one is a 400 naming it, no SQL error."""
        import base64
        import json

        def forged(payload: Any) -> str:
            return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")

        for cursor in ("not-base64!", forged([1, 2]), forged({"s": "salary", "o": "desc",
                                                              "k": [1, 2]}),
                       forged({"s": "created_at", "o": "desc", "k": ["2030-01-01T00:00:00", 1]}),
                       forged({"s": "created_at", "o": "desc",
                               "k": ["2030-01-01T00:00:00+00:00", 2**40]}),
                       forged({"s": "created_at", "o": "desc", "k": ["yesterday", 1]})):
            response = rest.get("/api/jobs", params={"cursor": cursor})
            assert response.status_code == 400, (cursor, response.text)
            assert "cursor" in response.text

    def test_hostile_search_input_is_safe(self, rest: httpx.Client) -> None:
        for term in ("' OR 1=1 --", "&&&|||!!!", "\\", "\"unclosed", "<script>"):
            assert rest.get("/api/jobs", params={"search": term}).status_code == 200

    def test_bad_parameters_are_named(self, rest: httpx.Client) -> None:
        response = rest.get("/api/jobs", params={"limit": 0, "sort_by": "random",
                                                 "employment_type": "gig", "salary_min": 5,
                                                 "salary_max": 1})
        assert response.status_code == 400
        assert {"limit", "sort_by", "employment_type", "salary_min"} <= fields(response)

    def test_a_changed_job_is_seen_at_once_despite_the_cache(self, rest: httpx.Client,
                                                            employer: dict[str, Any]) -> None:
        word = f"qv{uuid.uuid4().hex[:8]}"
        job = factories.job(rest, employer, title=f"Data {word} Analyst")
        assert search(rest, search=word)["pagination"]["total"] == 1
        assert search(rest, search=word)["pagination"]["total"] == 1  # now served from cache
        rest.put(f"/api/jobs/{job['id']}", headers=bearer(employer), json={"title": "Data Analyst"})
        assert search(rest, search=word)["pagination"]["total"] == 0
        rest.put(f"/api/jobs/{job['id']}", headers=bearer(employer),
                 json={"title": f"Data {word} Analyst"})
        assert search(rest, search=word)["pagination"]["total"] == 1
        rest.post(f"/api/jobs/{job['id']}/pause", headers=bearer(employer), json={})
        assert search(rest, search=word)["pagination"]["total"] == 0

    def test_a_total_past_the_threshold_is_a_flagged_lower_bound(
            self, rest: httpx.Client, employer: dict[str, Any],
            monkeypatch: pytest.MonkeyPatch) -> None:
        """Totals are exact up to EXACT_TOTAL_UP_TO (3 here) matches; past it the answer says
        the total is a lower bound instead of counting every match."""
        word = f"lb{uuid.uuid4().hex[:8]}"
        for _ in range(5):
            factories.job(rest, employer, title=f"Nurse {word}")
        monkeypatch.setattr(job_search, "EXACT_TOTAL_UP_TO", 3)
        first = search(rest, search=word, limit=2)
        assert (first["pagination"]["total"], first["total_is_lower_bound"]) == (3, True)
        deep = search(rest, search=word, limit=2, offset=2)
        assert (deep["pagination"]["total"], deep["total_is_lower_bound"]) == (5, True), \
            "a lower bound is at least the matches the page proves"
        last = search(rest, search=word, limit=2, offset=4)
        assert (last["pagination"]["total"], last["total_is_lower_bound"]) == (5, False), \
            "a page that reaches the last match settles the total"
        by_cursor = search(rest, search=word, limit=2, cursor=first["next_cursor"])
        assert (by_cursor["pagination"]["total"], by_cursor["total_is_lower_bound"]) == (3, True)
        monkeypatch.setattr(job_search, "EXACT_TOTAL_UP_TO", 5)
        exact = search(rest, search=word, limit=2, offset=1)
        assert (exact["pagination"]["total"], exact["total_is_lower_bound"]) == (5, False)

    def test_a_cached_total_follows_created_and_closed_jobs(
            self, rest: httpx.Client, employer: dict[str, Any]) -> None:
        """The total of a filter set is counted once and kept for its other pages, until a job
        changes: each call below is another page (the answer cache misses), the total is the
        kept one unless a job was created or closed in between."""
        word = f"tc{uuid.uuid4().hex[:8]}"
        jobs = [factories.job(rest, employer, title=f"Pharmacist {word}") for _ in range(3)]
        assert search(rest, search=word, limit=1)["pagination"]["total"] == 3
        assert search(rest, search=word, limit=1, offset=1)["pagination"]["total"] == 3
        factories.job(rest, employer, title=f"Pharmacist {word}")
        assert search(rest, search=word, limit=1, offset=2)["pagination"]["total"] == 4
        rest.delete(f"/api/jobs/{jobs[0]['id']}", headers=bearer(employer))
        body = search(rest, search=word, limit=1, offset=1)
        assert (body["pagination"]["total"], body["total_is_lower_bound"]) == (3, False)


def test_stats_count_public_jobs_and_the_callers_companies(rest: httpx.Client,
                                                           employer: dict[str, Any]) -> None:
    factories.job(rest, employer)
    factories.job(rest, employer, publish=False)
    public = rest.get("/api/jobs/stats").json()
    assert public["stats"]["total_jobs"] >= 1
    assert public["company_stats"] == []
    mine = rest.get("/api/jobs/stats", headers=bearer(employer)).json()
    [company] = mine["company_stats"]
    assert company["company_id"] == employer["company_id"]
    assert company["statistics"]["by_status"] == {"active": 1, "draft": 1}
