"""Idempotency-Key on creates: a retried request never creates a duplicate."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.models import Company, JobApplication
from tests import factories
from tests.support.rest import bearer, register


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
    job = factories.job(rest, owner)
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


def test_the_same_key_with_another_body_is_422(rest: httpx.Client, database: Database) -> None:
    """Issue 12, item 10: the first answer was replayed and the second job never created."""
    owner = register(rest, "company")
    company = rest.post("/api/companies", headers=bearer(owner), json={"name": "Bound Co"})
    owner["company_id"] = company.json()["company"]["id"]
    key = {**bearer(owner), "Idempotency-Key": uuid.uuid4().hex}
    payload = {"company_id": owner["company_id"], "title": "First Engineer",
               "description": "Build and run the platform's services with a small team.",
               "employment_type": "full-time", "experience_level": "mid"}
    first = rest.post("/api/jobs", headers=key, json=payload)
    assert first.status_code == 201, first.text
    other = rest.post("/api/jobs", headers=key, json={**payload, "title": "Second Engineer"})
    assert other.status_code == 422, other.text
    assert "IDEMPOTENCY_KEY_REUSED" in other.text
    assert "different request" in other.json()["message"]
    assert "idempotent-replay" not in other.headers
    again = rest.post("/api/jobs", headers=key, json=payload)  # the same request still replays
    assert again.status_code == 201 and again.headers["idempotent-replay"] == "true"
    assert again.json() == first.json()


def test_the_same_key_while_running_with_another_body_is_422(rest: httpx.Client,
                                                             cache: object) -> None:
    import hashlib

    from hotgigs.cache import Cache

    assert isinstance(cache, Cache)
    owner = register(rest, "company")
    method = "/hotgigs.v1.CompanyService/CreateCompany"
    digest = hashlib.sha256(f"{owner['user']['id']}:{method}:busy-key".encode()).hexdigest()
    cache.client.set(f"hg:idem:{digest}", b"pending:" + b"0" * 64, ex=30)
    response = rest.post("/api/companies", json={"name": "Other Co"},
                         headers={**bearer(owner), "Idempotency-Key": "busy-key"})
    assert response.status_code == 422


def test_key_reuse_over_grpc_is_invalid_argument(rest: httpx.Client,
                                                 grpc_channel: object) -> None:
    import grpc

    from hotgigs.v1 import companies_pb2, companies_pb2_grpc

    assert isinstance(grpc_channel, grpc.Channel)
    owner = register(rest, "company")
    stub = companies_pb2_grpc.CompanyServiceStub(grpc_channel)
    metadata = (("authorization", f"Bearer {owner['access_token']}"),
                ("idempotency-key", uuid.uuid4().hex))
    stub.CreateCompany(companies_pb2.CreateCompanyRequest(name=f"G {uuid.uuid4().hex[:6]}"),
                       metadata=metadata, timeout=10)
    with pytest.raises(grpc.RpcError) as caught:
        stub.CreateCompany(companies_pb2.CreateCompanyRequest(name="Another name"),
                           metadata=metadata, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
