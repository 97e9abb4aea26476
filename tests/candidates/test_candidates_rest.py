"""Candidate search and profiles over REST: filters in SQL before paging, true totals, roles."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.rest import bearer, register


def candidate_with(rest: httpx.Client, **profile: Any) -> dict[str, Any]:
    account = register(rest, "candidate")
    response = rest.put("/api/candidates/profile", headers=bearer(account), json=profile)
    assert response.status_code == 200, response.text
    return account


def found(rest: httpx.Client, searcher: dict[str, Any], **params: Any) -> dict[str, Any]:
    response = rest.get("/api/candidates", headers=bearer(searcher), params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_filters_apply_before_paging_with_a_true_total(rest: httpx.Client) -> None:
    recruiter = register(rest, "recruiter")
    town = f"Town{uuid.uuid4().hex[:6]}"
    made = [
        candidate_with(rest, location=town, skills=["Rust", "Go"], experience_level="senior",
                       availability="immediate", desired_salary_min=90000,
                       desired_salary_max=110000, remote_preference=True),
        candidate_with(rest, location=town, skills=["rust"], experience_level="mid",
                       availability="1_month", desired_salary_min=50000, desired_salary_max=60000),
        candidate_with(rest, location=town, skills=["excel"], experience_level="senior",
                       availability="immediate"),
    ]
    ids = {account["user"]["id"] for account in made}
    everyone = found(rest, recruiter, location=town)
    assert everyone["pagination"]["total"] == 3
    assert {c["id"] for c in everyone["candidates"]} == ids
    rust = found(rest, recruiter, location=town, skills="rust", limit=1)
    assert rust["pagination"] == {"limit": 1, "offset": 0, "total": 2}
    assert len(rust["candidates"]) == 1
    senior_now = found(rest, recruiter, location=town, experience_level="senior",
                       availability="immediate", remote_only="true")
    assert [c["id"] for c in senior_now["candidates"]] == [made[0]["user"]["id"]]
    pay = found(rest, recruiter, location=town, salary_min=55000, salary_max=70000)
    assert [c["id"] for c in pay["candidates"]] == [made[1]["user"]["id"]]
    assert pay["search_params"]["salary_min"] == 55000


def test_only_employers_search_candidates(rest: httpx.Client) -> None:
    candidate = register(rest, "candidate")
    assert rest.get("/api/candidates", headers=bearer(candidate)).status_code == 403
    assert rest.get("/api/candidates").status_code == 401
    company = register(rest, "company")
    assert rest.get("/api/candidates/stats", headers=bearer(company)).status_code == 200


def test_profiles_for_employers_and_the_candidate_only(rest: httpx.Client) -> None:
    candidate = candidate_with(rest, headline="Rust engineer", skills=["rust"])
    other = register(rest, "candidate")
    company = register(rest, "company")
    path = f"/api/candidates/{candidate['user']['id']}"
    assert rest.get(path, headers=bearer(company)).json()["candidate"]["candidate_profile"][
        "headline"] == "Rust engineer"
    assert rest.get(path, headers=bearer(other)).status_code == 403
    rest.post("/api/documents", headers=bearer(candidate), json={
        "document_type": "resume", "title": "CV", "filename": "cv.txt",
        "content_type": "text/plain", "content": "Q1Y="})
    mine = rest.get("/api/candidates/profile", headers=bearer(candidate)).json()
    assert mine["profile"]["id"] == candidate["user"]["id"]
    assert [d["filename"] for d in mine["profile"]["documents"]] == ["cv.txt"]
    assert mine["profile"]["documents"][0]["download_url"].endswith("/download")
    seen = rest.get(path, headers=bearer(company)).json()["candidate"]
    assert seen["documents"] == [], "a company sees only documents attached to its applications"


def test_bad_filters_are_named(rest: httpx.Client) -> None:
    recruiter = register(rest, "recruiter")
    response = rest.get("/api/candidates", headers=bearer(recruiter), params={
        "experience_level": "guru", "availability": "never", "limit": 500})
    assert response.status_code == 400
    named = {v["field"] for d in response.json()["details"] for v in d.get("field_violations", [])}
    assert {"experience_level", "availability", "limit"} <= named
