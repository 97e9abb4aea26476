"""GET /api/ai/feedback through Envoy (issue 20, item 2): each match-jobs and analyze-resume
call is stored for its caller, newest first, paged; everyone sees only their own history,
admins may name a user."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hotgigs.db import Database
from tests import factories
from tests.support.rest import admin as make_admin
from tests.support.rest import bearer, register
from tests.support.servers import RunningEnvoy

RESUME = ("Summary\nBackend engineer with 8 years in Python and PostgreSQL.\n"
          "Experience\nBuilt event pipelines processing 2,000,000 events a day.\n"
          "Education\nBSc Computer Science\nSkills\nPython, PostgreSQL, Docker, Git, Linux")


@pytest.fixture(scope="module")
def admin(envoy: RunningEnvoy, database: Database) -> dict[str, Any]:
    with httpx.Client(base_url=envoy.base_url, timeout=10) as client:
        return make_admin(client, database)


def _feedback(rest: httpx.Client, account: dict[str, Any], **params: Any) -> dict[str, Any]:
    answer = rest.get("/api/ai/feedback", headers=bearer(account), params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_each_analysis_is_stored_newest_first(rest: httpx.Client) -> None:
    owner = factories.owner(rest, company_name="Feedback Co")
    job = factories.job(rest, owner, title="Kafka Platform Engineer",
                        skills_required=["python", "kafka", "terraform"], experience_level="senior")
    candidate = register(rest, "candidate")
    assert _feedback(rest, candidate) == {"feedback_history": [], "total_records": 0,
                                          "pagination": {"limit": 20, "offset": 0, "total": 0}}
    matched = rest.post("/api/ai/match-jobs", headers=bearer(candidate), json={
        "skills": ["Python", "Kafka"], "experience_level": "senior", "salary_min": 50000,
        "location_preference": "Berlin"}).json()
    analysed = rest.post("/api/ai/analyze-resume", headers=bearer(candidate),
                         json={"resume_text": RESUME, "target_job_id": job["id"]})
    assert analysed.status_code == 200, analysed.text

    answer = rest.get("/api/ai/feedback", headers=bearer(candidate))
    assert RESUME[:40] not in answer.text, "the resume text itself is never stored"
    body = answer.json()
    assert body["total_records"] == 2
    resume, match = body["feedback_history"]
    assert resume["id"] > match["id"] and resume["created_at"] >= match["created_at"]

    assert resume["analysis_type"] == "analyze_resume"
    assert resume["resume_input"] == {"word_count": analysed.json()["analysis"]["word_count"],
                                      "characters": len(RESUME), "target_job_id": job["id"]}
    result = resume["resume_result"]
    assert result["job_match_percentage"] == analysed.json()["analysis"]["job_specific"][
        "match_percentage"]
    assert result["missing_keywords"] == ["kafka", "terraform"]
    assert result["overall_rating"] == analysed.json()["analysis"]["overall_rating"]

    assert match["analysis_type"] == "match_jobs"
    asked = match["match_input"]
    assert (asked["skills"], asked["experience_level"], asked["salary_min"],
            asked["location_preference"]) == (["Python", "Kafka"], "senior", 50000, "Berlin")
    assert "salary_max" not in asked
    assert match["total_matches"] == matched["total_matches"] >= 1
    assert len(match["top_matches"]) == min(5, matched["total_matches"])
    assert [(m["job_id"], m["title"], m["match_score"]) for m in match["top_matches"]] == [
        (m["job"]["id"], m["job"]["title"], m["match_score"]) for m in matched["matched_jobs"][:5]]


def test_paging_and_bounds(rest: httpx.Client) -> None:
    candidate = register(rest, "candidate")
    for words in ("one", "two", "three"):
        assert rest.post("/api/ai/match-jobs", headers=bearer(candidate),
                         json={"skills": [words]}).status_code == 200
    page = _feedback(rest, candidate, limit=1, offset=1)
    assert page["pagination"] == {"limit": 1, "offset": 1, "total": 3}
    assert page["total_records"] == 3
    assert [r["match_input"]["skills"] for r in page["feedback_history"]] == [["two"]]
    assert _feedback(rest, candidate, offset=3)["feedback_history"] == []
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"user_id": 0}):
        refused = rest.get("/api/ai/feedback", headers=bearer(candidate), params=params)
        assert refused.status_code == 400, (params, refused.text)
        assert next(iter(params)) in refused.text


def test_everyone_sees_only_their_own_admins_may_name_a_user(rest: httpx.Client,
                                                             admin: dict[str, Any]) -> None:
    mine, other = register(rest, "candidate"), register(rest, "company")
    assert rest.post("/api/ai/match-jobs", headers=bearer(mine),
                     json={"skills": ["cobol"]}).status_code == 200
    assert _feedback(rest, other)["total_records"] == 0
    for account in (other, register(rest, "recruiter"), register(rest, "candidate")):
        refused = rest.get("/api/ai/feedback", headers=bearer(account),
                           params={"user_id": mine["user"]["id"]})
        assert refused.status_code == 403, refused.text
    assert _feedback(rest, mine, user_id=mine["user"]["id"])["total_records"] == 1
    seen = _feedback(rest, admin, user_id=mine["user"]["id"])
    assert seen["total_records"] == 1
    assert seen["feedback_history"][0]["match_input"]["skills"] == ["cobol"]
    assert _feedback(rest, admin)["total_records"] == 0  # the admin's own, none
    assert rest.get("/api/ai/feedback").status_code == 401
