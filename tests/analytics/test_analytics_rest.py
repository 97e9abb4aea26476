"""Analytics over REST: a known data set, and every number of the dashboards and metrics."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.models import User
from tests import factories
from tests.support.rest import STRONG_PASSWORD, apply, bearer, register


@pytest.fixture(scope="module")
def world(envoy: Any) -> dict[str, Any]:
    """One company with an active and a draft job; three candidates: one hired, one rejected
    after an interview, one still applied; plus a recruiter member of the company."""
    with httpx.Client(base_url=envoy.base_url, timeout=10) as rest:
        owner = register(rest, "company")
        company = rest.post("/api/companies", headers=bearer(owner), json={"name": "Metrics Co"})
        owner["company_id"] = company.json()["company"]["id"]
        recruiter = register(rest, "recruiter")
        rest.post(f"/api/companies/{owner['company_id']}/members", headers=bearer(owner),
                  json={"user_id": recruiter["user"]["id"], "role": "recruiter"})
        joined = rest.post(f"/api/companies/{owner['company_id']}/invitations/accept",
                           headers=bearer(recruiter), json={})
        assert joined.status_code == 200, joined.text
        job = factories.job(rest, owner, skills_required=["python", "sql"])
        factories.job(rest, owner, publish=False)
        hired, rejected, waiting = (register(rest, "candidate") for _ in range(3))
        rest.put("/api/users/candidate-profile", headers=bearer(hired), json={
            "headline": "Engineer", "skills": ["python"], "experience_level": "senior",
            "availability": "immediate", "desired_salary_min": 1, "location": "Berlin"})
        ids = {name: apply(rest, account, job["id"]).json()["application"]["id"]
               for name, account in (("hired", hired), ("rejected", rejected),
                                     ("waiting", waiting))}
        for status in ("screening", "interviewing", "offered", "hired"):
            rest.put(f"/api/applications/{ids['hired']}", headers=bearer(owner),
                     json={"status": status})
        for status in ("interviewing", "rejected"):
            rest.put(f"/api/applications/{ids['rejected']}", headers=bearer(owner),
                     json={"status": status, "rejection_reason": "Other candidate"})
    return {"owner": owner, "recruiter": recruiter, "hired": hired, "waiting": waiting}


def get(rest: httpx.Client, account: dict[str, Any], path: str, **params: Any) -> dict[str, Any]:
    response = rest.get(path, headers=bearer(account), params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_company_dashboard_and_metrics(rest: httpx.Client, world: dict[str, Any]) -> None:
    body = get(rest, world["owner"], "/api/analytics/dashboard")
    assert body["user_type"] == "company"
    board = body["dashboard"]
    assert board["applications"] == {"hired": 1, "rejected": 1, "applied": 1}
    assert board["jobs"] == {"active": 1, "draft": 1}
    assert board["companies"] == 1
    assert board["candidates"] == 3
    assert board["placements"] == {"hired": 1}
    assert board["recent_activity"][0]["status"] == "rejected"
    metrics = get(rest, world["owner"], "/api/analytics/metrics", days=30)
    numbers = metrics["metrics"]
    assert numbers["applications_received"] == 3
    assert numbers["jobs_posted"] == 2
    assert numbers["response_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert numbers["interview_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert numbers["offer_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert numbers["hires_made"] == 1
    assert 0 <= numbers["time_to_hire"] < 0.01, "hired within seconds of applying"
    assert metrics["time_range"]["days"] == 30
    assert "performance" not in numbers, "service performance is for admins only"


def test_recruiter_sees_the_companys_placements(rest: httpx.Client, world: dict[str, Any]) -> None:
    board = get(rest, world["recruiter"], "/api/analytics/dashboard")["dashboard"]
    assert board["clients"] == 1
    assert board["placements"] == {"hired": 1}


def test_candidate_dashboard_and_metrics(rest: httpx.Client, world: dict[str, Any]) -> None:
    board = get(rest, world["hired"], "/api/analytics/dashboard")["dashboard"]
    assert board["applications"] == {"hired": 1}
    # 6 of 10: location, headline, skills, level, availability, salary; no bio, work history,
    # education or resume
    assert board["profile_completion"] == 60.0
    assert board["job_matches"] >= 1
    waiting = get(rest, world["waiting"], "/api/analytics/metrics")["metrics"]
    assert waiting["applications_submitted"] == 1
    assert waiting["response_rate"] == 0


def test_admin_sees_platform_totals(rest: httpx.Client, database: Database,
                                    world: dict[str, Any]) -> None:
    admin = register(rest, "company")
    with database.session_scope() as session:
        session.execute(sa.update(User).where(User.id == admin["user"]["id"])
                        .values(user_type="admin"))
        users = session.scalar(sa.select(sa.func.count()).select_from(User))
    admin = rest.post("/api/auth/login", json={"email": admin["user"]["email"],
                                               "password": STRONG_PASSWORD}).json()
    platform = get(rest, admin, "/api/analytics/dashboard")["dashboard"]["platform"]
    assert platform["total_users"] == users
    assert platform["applications"] >= 3
    word = "analyticsperf"
    for _ in range(2):  # one miss, then one hit of the job-search cache
        rest.get("/api/jobs", params={"search": word})
    performance = get(rest, admin, "/api/analytics/metrics")["metrics"]["performance"]
    assert performance["requests"] > 0
    assert performance["request_rate"] > 0
    assert 0 < performance["p50_ms"] <= performance["p95_ms"] <= performance["p99_ms"]
    assert 0 < performance["cache_hit_ratio"] < 1
    assert 0 <= performance["error_rate"] < 0.5


def test_bad_window_and_reports(rest: httpx.Client, world: dict[str, Any]) -> None:
    bad = rest.get("/api/analytics/metrics", headers=bearer(world["owner"]), params={"days": 0})
    assert bad.status_code == 400
    reports = get(rest, world["owner"], "/api/analytics/reports")
    assert [r["id"] for r in reports["reports"]] == ["hiring-funnel", "time-to-hire"]
    assert rest.get("/api/analytics/dashboard").status_code == 401
