"""Idempotency-Key on creates: a retried request never creates a duplicate."""

from __future__ import annotations

import uuid

import httpx
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.models import Company, JobApplication
from tests.auth.helpers import bearer, register
from tests.jobs.test_jobs_rest import post_job


def test_a_retried_create_returns_the_first_answer(rest: httpx.Client, database: Database) -> None:
    owner = register(rest, "company")
    key = {"Idempotency-Key": uuid.uuid4().hex}
    name = f"Idempotent {uuid.uuid4().hex[:6]}"
    first = rest.post("/api/companies", headers={**bearer(owner), **key}, json={"name": name})
    again = rest.post("/api/companies", headers={**bearer(owner), **key}, json={"name": name})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replay"] == "true"
    with database.session_scope() as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(Company)
                               .where(Company.name == name))
    assert count == 1
    fresh = rest.post("/api/companies", headers={**bearer(owner), "Idempotency-Key": "other"},
                      json={"name": name})
    assert fresh.status_code == 201
    assert fresh.json()["company"]["id"] != first.json()["company"]["id"]


def test_keys_are_per_caller_and_failures_release_them(rest: httpx.Client,
                                                       database: Database) -> None:
    owner = register(rest, "company")
    company = rest.post("/api/companies", headers=bearer(owner), json={"name": "Keyed Co"})
    owner["company_id"] = company.json()["company"]["id"]
    job = post_job(rest, owner)
    key = {"Idempotency-Key": "same-key-for-everyone"}
    candidates = [register(rest, "candidate") for _ in range(2)]
    for candidate in candidates:  # the same key from two callers: two applications
        response = rest.post("/api/applications", headers={**bearer(candidate), **key},
                             json={"job_id": job["id"]})
        assert response.status_code == 201
    bad = rest.post("/api/applications", headers={**bearer(candidates[0]), "Idempotency-Key": "k2"},
                    json={"job_id": 999999})
    assert bad.status_code == 400
    retry = rest.post("/api/applications", headers={**bearer(candidates[0]), "Idempotency-Key": "k2"},
                      json={"job_id": 999999})
    assert retry.status_code == 400, "a failed request is not remembered"
    with database.session_scope() as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(JobApplication)
                               .where(JobApplication.job_id == job["id"]))
    assert count == 2


def test_a_repeat_while_the_first_runs_is_409(rest: httpx.Client, cache: object) -> None:
    import hashlib

    from hotgigs.cache import Cache

    assert isinstance(cache, Cache)
    owner = register(rest, "company")
    method = "/hotgigs.v1.CompanyService/CreateCompany"
    digest = hashlib.sha256(f"{owner['user']['id']}:{method}:running-key".encode()).hexdigest()
    cache.client.set(f"hg:idem:{digest}", b"pending", ex=30)  # as if the first were running
    response = rest.post("/api/companies", json={"name": "Racing Co"},
                         headers={**bearer(owner), "Idempotency-Key": "running-key"})
    assert response.status_code == 409
    assert response.json()["code"] == 10
