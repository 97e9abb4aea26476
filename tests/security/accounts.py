"""Signed-in accounts for the hostile-input tests (REST through Envoy)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.auth.helpers import bearer, register


def employer(rest: httpx.Client) -> dict[str, Any]:
    """A company user with a company of their own (`company_id`)."""
    account = register(rest, "company")
    company = rest.post("/api/companies", headers=bearer(account),
                        json={"name": f"Hostile {uuid.uuid4().hex[:6]}", "industry": "Software"})
    assert company.status_code == 201, company.text
    account["company_id"] = company.json()["company"]["id"]
    return account


def job_payload(company_id: int, **overrides: Any) -> dict[str, Any]:
    return {"company_id": company_id, "title": "Backend Engineer",
            "description": "Build and run the platform's services with a small team.",
            "requirements": "Python", "location": "Berlin", "employment_type": "full-time",
            "experience_level": "mid", **overrides}
