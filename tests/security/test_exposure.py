"""Data exposure (issue 12): each field reaches only who may see it, over REST through Envoy.

Two tenants throughout: a hiring company with one job, and candidates applying to it."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hotgigs.applications import service as applications_service
from hotgigs.context import Principal
from hotgigs.db import Database
from hotgigs.errors import InvalidArgument
from hotgigs.models import User
from tests import factories
from tests.support.rest import STRONG_PASSWORD, apply, bearer, notifications_of, register, upload


@dataclasses.dataclass
class Hiring:
    owner: dict[str, Any]
    job: dict[str, Any]


def hiring_company(rest: httpx.Client, name: str = "Exposure Co") -> Hiring:
    return Hiring(*factories.owner_with_job(rest, company_name=name))


def cv(rest: httpx.Client, candidate: dict[str, Any], text: str = "Ada Lovelace, engineer",
       **extra: Any) -> int:
    answer = upload(rest, candidate, text.encode(), "cv.txt", "text/plain", **extra)
    assert answer.status_code == 201, answer.text
    document_id: int = answer.json()["document"]["id"]
    return document_id


def make_admin(rest: httpx.Client, database: Database) -> dict[str, Any]:
    account = register(rest, "company")
    with database.session_scope() as session:
        session.execute(sa.update(User).where(User.id == account["user"]["id"])
                        .values(user_type="admin"))
    answer = rest.post("/api/auth/login", json={"email": account["user"]["email"],
                                                "password": STRONG_PASSWORD})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
def hiring(rest: httpx.Client) -> Hiring:
    return hiring_company(rest)


class TestApplicationFields:
    def test_the_candidate_does_not_see_the_companys_notes_or_staff(
            self, rest: httpx.Client, hiring: Hiring) -> None:
        candidate = register(rest, "candidate")
        app_id = apply(rest, candidate, hiring.job["id"]).json()["application"]["id"]
        moved = rest.put(f"/api/applications/{app_id}", headers=bearer(hiring.owner), json={
            "status": "interviewing", "notes": "internal: salary too high",
            "interview_notes": "internal: weak on SQL", "interview_type": "video"})
        assert moved.status_code == 200, moved.text
        company_view = moved.json()["application"]
        assert company_view["notes"] == "internal: salary too high"
        assert company_view["interview_notes"] == "internal: weak on SQL"
        assert company_view["status_history"][-1]["changed_by"] == hiring.owner["user"]["id"]

        for answer in (rest.get(f"/api/applications/{app_id}", headers=bearer(candidate)),
                       rest.get("/api/applications", headers=bearer(candidate))):
            assert answer.status_code == 200, answer.text
            assert "internal" not in answer.text
            body = answer.json()
            seen = body.get("application") or body["applications"][0]
            assert seen["notes"] == "" and seen["interview_notes"] == ""
            assert seen["interview_type"] == "video"
            assert {h["changed_by"] for h in seen["status_history"]} == {0}
        withdrawn = rest.delete(f"/api/applications/{app_id}", headers=bearer(candidate))
        assert withdrawn.status_code == 200, withdrawn.text
        assert "internal" not in withdrawn.text

    def test_notifications_to_candidates_name_no_staff_member(
            self, rest: httpx.Client, hiring: Hiring) -> None:
        candidate = register(rest, "candidate")
        app_id = apply(rest, candidate, hiring.job["id"]).json()["application"]["id"]
        rest.put(f"/api/applications/{app_id}", headers=bearer(hiring.owner),
                 json={"status": "screening"})
        assert rest.delete(f"/api/jobs/{hiring.job['id']}",
                           headers=bearer(hiring.owner)).status_code == 200
        notes = notifications_of(rest, candidate)["notifications"]
        assert len(notes) == 2
        assert [n.get("sender_id") for n in notes] == [None, None]

    def test_the_company_sees_the_applicants_email_until_withdrawal(
            self, rest: httpx.Client, hiring: Hiring) -> None:
        candidate = register(rest, "candidate")
        app_id = apply(rest, candidate, hiring.job["id"]).json()["application"]["id"]
        url = f"/api/applications/{app_id}"
        email = candidate["user"]["email"]
        assert rest.get(url, headers=bearer(hiring.owner)).json()[
            "application"]["candidate"]["email"] == email
        assert rest.delete(url, headers=bearer(candidate)).status_code == 200
        assert rest.get(url, headers=bearer(hiring.owner)).json()[
            "application"]["candidate"]["email"] == ""
        assert rest.get(url, headers=bearer(candidate)).json()[
            "application"]["candidate"]["email"] == email


class TestResumeDocument:
    def test_only_the_applicants_own_document_can_be_attached(
            self, rest: httpx.Client, hiring: Hiring) -> None:
        alice, bob = register(rest, "candidate"), register(rest, "candidate")
        bobs = cv(rest, bob)
        for document_id in (bobs, 2_000_000_000):
            answer = apply(rest, alice, hiring.job["id"], resume_document_id=document_id)
            assert answer.status_code == 400, answer.text
            assert "resume_document_id" in answer.text
            assert "must be one of your own documents" in answer.text
        own = apply(rest, alice, hiring.job["id"], resume_document_id=cv(rest, alice))
        assert own.status_code == 201, own.text

    def test_a_vanished_reference_is_400_not_already_applied(
            self, rest: httpx.Client, hiring: Hiring, database: Database) -> None:
        ghost = Principal(user_id=2_000_000_000, role="candidate", session_id="s", token_id="t")
        with pytest.raises(InvalidArgument) as raised, database.session_scope() as session:
            applications_service.apply(session, actor=ghost,
                                       application_in=applications_service.ApplicationIn(job_id=hiring.job["id"]))
        assert raised.value.reason == "REFERENCE_GONE"


class TestDocuments:
    def test_a_company_reads_only_attached_documents_while_the_application_is_open(
            self, rest: httpx.Client, hiring: Hiring) -> None:
        candidate = register(rest, "candidate")
        attached = cv(rest, candidate)
        private = cv(rest, candidate, "My tax return", document_type="other", title="Taxes")
        app_id = apply(rest, candidate, hiring.job["id"],
                       resume_document_id=attached).json()["application"]["id"]
        company = bearer(hiring.owner)
        assert rest.get(f"/api/documents/{attached}/download", headers=company).status_code == 200
        assert rest.get(f"/api/documents/{attached}", headers=company).status_code == 200
        for path in (f"/api/documents/{private}", f"/api/documents/{private}/download"):
            assert rest.get(path, headers=company).status_code == 403, path
        profile = rest.get(f"/api/candidates/{candidate['user']['id']}", headers=company)
        assert [d["id"] for d in profile.json()["candidate"]["documents"]] == [attached]

        assert rest.delete(f"/api/applications/{app_id}",
                           headers=bearer(candidate)).status_code == 200
        for path in (f"/api/documents/{attached}", f"/api/documents/{attached}/download"):
            assert rest.get(path, headers=company).status_code == 403, path
        profile = rest.get(f"/api/candidates/{candidate['user']['id']}", headers=company)
        assert profile.json()["candidate"]["documents"] == []
        own = rest.get(f"/api/candidates/{candidate['user']['id']}", headers=bearer(candidate))
        assert {d["id"] for d in own.json()["candidate"]["documents"]} == {attached, private}

    def test_applying_without_attaching_opens_no_document(
            self, rest: httpx.Client, hiring: Hiring) -> None:
        candidate = register(rest, "candidate")
        document = cv(rest, candidate)
        assert apply(rest, candidate, hiring.job["id"]).status_code == 201
        assert rest.get(f"/api/documents/{document}/download",
                        headers=bearer(hiring.owner)).status_code == 403


def public_candidate(rest: httpx.Client, skill: str) -> dict[str, Any]:
    account = register(rest, "candidate")
    answer = rest.put("/api/candidates/profile", headers=bearer(account),
                      json={"skills": [skill], "experience_level": "senior"})
    assert answer.status_code == 200, answer.text
    return account


class TestCandidateEmail:
    def test_companies_see_emails_of_their_open_applicants_only(
            self, rest: httpx.Client, hiring: Hiring) -> None:
        skill = f"cobol{uuid.uuid4().hex[:8]}"
        applicant, stranger = public_candidate(rest, skill), public_candidate(rest, skill)
        app_id = apply(rest, applicant, hiring.job["id"]).json()["application"]["id"]
        other_company = hiring_company(rest, "Other Co")
        recruiter = register(rest, "recruiter")

        def emails(viewer: dict[str, Any]) -> dict[int, str]:
            found = rest.get("/api/candidates", headers=bearer(viewer), params={"skills": skill})
            assert found.status_code == 200, found.text
            shown = {c["id"]: c["email"] for c in found.json()["candidates"]}
            for candidate_id in shown:
                one = rest.get(f"/api/candidates/{candidate_id}", headers=bearer(viewer))
                assert one.json()["candidate"]["email"] == shown[candidate_id]
            return shown

        applicant_id, stranger_id = applicant["user"]["id"], stranger["user"]["id"]
        assert emails(hiring.owner) == {applicant_id: applicant["user"]["email"],
                                        stranger_id: ""}
        for outsider in (other_company.owner, recruiter):
            assert emails(outsider) == {applicant_id: "", stranger_id: ""}
        assert rest.delete(f"/api/applications/{app_id}",
                           headers=bearer(applicant)).status_code == 200
        assert emails(hiring.owner) == {applicant_id: "", stranger_id: ""}

    def test_ai_candidate_matches_show_emails_of_applicants_only(
            self, rest: httpx.Client) -> None:
        skill = f"fortran{uuid.uuid4().hex[:8]}"
        employer = hiring_company(rest, "Match Co")
        job = factories.job(rest, employer.owner, skills_required=[skill])
        applicant, stranger = public_candidate(rest, skill), public_candidate(rest, skill)
        assert apply(rest, applicant, job["id"]).status_code == 201
        answer = rest.post("/api/ai/match-candidates", headers=bearer(employer.owner),
                           json={"job_id": job["id"]})
        assert answer.status_code == 200, answer.text
        shown = {m["candidate"]["id"]: m["candidate"]["email"]
                 for m in answer.json()["matched_candidates"]}
        assert shown[applicant["user"]["id"]] == applicant["user"]["email"]
        assert shown[stranger["user"]["id"]] == ""

    def test_user_search_does_not_match_email_prefixes(self, rest: httpx.Client) -> None:
        target = register(rest, "candidate")
        prefix = target["user"]["email"].split("@")[0]
        searcher = register(rest, "company")
        for term in (prefix, prefix[:8], target["user"]["email"]):
            found = rest.get("/api/users/search", headers=bearer(searcher), params={"q": term})
            assert found.status_code == 200, found.text
            assert found.json()["pagination"]["total"] == 0, term


class TestJobStats:
    def test_platform_wide_applications_only_for_admins(
            self, rest: httpx.Client, hiring: Hiring, database: Database) -> None:
        candidate = register(rest, "candidate")
        assert apply(rest, candidate, hiring.job["id"]).status_code == 201
        anonymous = rest.get("/api/jobs/stats").json()
        assert anonymous["stats"]["total_applications"] == 0
        assert anonymous["stats"]["total_jobs"] >= 1
        mine = rest.get("/api/jobs/stats", headers=bearer(hiring.owner)).json()
        assert mine["stats"]["total_applications"] == 0
        assert [s["statistics"]["total_applications"] for s in mine["company_stats"]] == [1]
        admin = make_admin(rest, database)
        assert rest.get("/api/jobs/stats", headers=bearer(admin)).json()[
            "stats"]["total_applications"] >= 1
