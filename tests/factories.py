"""One factory per domain object, in two families:

- over REST through Envoy (`rest` client), for the contract tests: owner (a company user with
  a company of their own), company, job, candidate, application. Each asserts its call
  succeeded and returns the response's object, exactly what a client would get.
- as rows in a session (`make_*`), for service tests that run in the rolled-back `session`
  fixture of tests/conftest.py: make_user, make_owner, make_company, make_job, make_candidate,
  make_application. They flush (ids are set) and never commit.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import httpx
from sqlalchemy.orm import Session

from hotgigs.models import CandidateProfile, Company, CompanyMember, Job, JobApplication, User
from tests.support.rest import apply, bearer, register

_numbers = itertools.count(1)

JOB_DESCRIPTION = "We are looking for an engineer who enjoys building reliable backend systems."


def company(rest: httpx.Client, owner: dict[str, Any], *, name: str | None = None,
            **fields: Any) -> dict[str, Any]:
    """A new company of `owner`'s (the company object)."""
    response = rest.post("/api/companies", headers=bearer(owner),
                         json={"name": name or f"Company {uuid.uuid4().hex[:6]}", **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["company"]
    return created


def owner(rest: httpx.Client, *, company_name: str | None = None, **company_fields: Any) -> dict[str, Any]:
    """A company user who owns a new company: the account (user and tokens) with `company_id`."""
    account = register(rest, "company")
    account["company_id"] = company(rest, account, name=company_name, **company_fields)["id"]
    return account


def job_payload(company_id: int, **overrides: Any) -> dict[str, Any]:
    """A valid job (POST /api/jobs body) for `company_id`."""
    return {"company_id": company_id, "title": "Senior Software Engineer",
            "description": JOB_DESCRIPTION, "requirements": "5+ years of Python and SQL.",
            "location": "Berlin, Germany", "employment_type": "full-time",
            "experience_level": "senior", "salary_min": 70000, "salary_max": 90000,
            "currency": "EUR", "skills_required": ["Python", "PostgreSQL"],
            "benefits": ["Remote days"], "remote_work_allowed": False, **overrides}


def job(rest: httpx.Client, owner: dict[str, Any], *, publish: bool = True,
        **overrides: Any) -> dict[str, Any]:
    """A job of `owner`'s company, published unless `publish=False` (then a draft)."""
    response = rest.post("/api/jobs", headers=bearer(owner),
                         json=job_payload(owner["company_id"], **overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["job"]
    assert created["status"] == "draft"
    if publish:
        published = rest.post(f"/api/jobs/{created['id']}/publish", headers=bearer(owner), json={})
        assert published.status_code == 200, published.text
        created = published.json()["job"]
    return created


def owner_with_job(rest: httpx.Client, *, company_name: str | None = None,
                   **job_overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """An owner and one published job of their company."""
    account = owner(rest, company_name=company_name)
    return account, job(rest, account, **job_overrides)


def candidate(rest: httpx.Client, **register_options: Any) -> dict[str, Any]:
    """A signed-in candidate (user and tokens)."""
    return register(rest, "candidate", **register_options)


def application(rest: httpx.Client, candidate: dict[str, Any], job_id: int, **extra: Any) -> dict[str, Any]:
    """`candidate`'s application to `job_id` (the application object)."""
    response = apply(rest, candidate, job_id, **extra)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["application"]
    return created


# -- rows in a session (service tests) ---------------------------------------------------------

def make_user(session: Session, user_type: str = "candidate", *, first_name: str = "Test",
              last_name: str = "User", email: str | None = None, is_active: bool = True,
              with_profile: bool = True, **fields: Any) -> User:
    """A user (candidates get an empty candidate profile unless `with_profile=False`)."""
    user = User(email=email or f"user{next(_numbers)}-{uuid.uuid4().hex[:6]}@example.test",
                password_hash="not-a-hash", first_name=first_name, last_name=last_name,
                user_type=user_type, is_active=is_active, **fields)
    session.add(user)
    session.flush()
    if user_type == "candidate" and with_profile:
        session.add(CandidateProfile(user_id=user.id))
        session.flush()
    return user


def make_company(session: Session, owner: User, *, name: str | None = None, **fields: Any) -> Company:
    """A company created by `owner`, who becomes its admin member (as the service does)."""
    name = name or f"Company {next(_numbers)}"
    company = Company(name=name, slug=f"{uuid.uuid4().hex[:8]}-{next(_numbers)}", created_by=owner.id,
                      **fields)
    session.add(company)
    session.flush()
    session.add(CompanyMember(company_id=company.id, user_id=owner.id, role="admin"))
    session.flush()
    return company


def make_owner(session: Session, **company_fields: Any) -> tuple[User, Company]:
    """A company user and the company they own."""
    user = make_user(session, "company")
    return user, make_company(session, user, **company_fields)


def make_job(session: Session, company: Company, *, posted_by: User | None = None,
             status: str = "active", **fields: Any) -> Job:
    """A job of `company` (active, i.e. published, unless `status` says otherwise)."""
    values: dict[str, Any] = {"title": "Senior Software Engineer", "description": JOB_DESCRIPTION,
                              "location": "Berlin, Germany", "employment_type": "full-time",
                              "experience_level": "senior", "salary_min": 70000, "salary_max": 90000,
                              "currency": "EUR", "skills_required": ["Python", "PostgreSQL"],
                              "published_at": dt.datetime.now(dt.UTC) if status == "active" else None,
                              **fields}
    job = Job(company_id=company.id, posted_by=posted_by.id if posted_by else company.created_by,
              status=status, **values)
    session.add(job)
    session.flush()
    return job


def make_candidate(session: Session, **fields: Any) -> User:
    """A candidate with an empty candidate profile."""
    return make_user(session, "candidate", **fields)


def make_application(session: Session, candidate: User, job: Job, **fields: Any) -> JobApplication:
    """`candidate`'s application to `job` (status applied)."""
    application = JobApplication(job_id=job.id, candidate_id=candidate.id,
                                 cover_letter="I would love to join.", **fields)
    session.add(application)
    session.flush()
    return application
