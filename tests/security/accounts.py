"""The job the hostile-input tests send (the smallest valid one, so each test's override is the
only thing wrong with it); their accounts come from tests.factories."""

from __future__ import annotations

from typing import Any


def job_payload(company_id: int, **overrides: Any) -> dict[str, Any]:
    return {"company_id": company_id, "title": "Backend Engineer",
            "description": "Build and run the platform's services with a small team.",
            "requirements": "Python", "location": "Berlin", "employment_type": "full-time",
            "experience_level": "mid", **overrides}
