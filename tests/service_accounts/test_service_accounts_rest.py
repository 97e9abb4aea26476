"""Service accounts end to end through Envoy: admin routes (create, list, rotate, revoke) with
audit entries, keys in both header forms, scopes, refusals with clear 401/403 JSON, and keys
kept out of the logs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.models import AuditEntry, ServiceAccountKey, User
from tests.support.rest import admin as make_admin
from tests.support.rest import bearer, register
from tests.support.servers import RunningEnvoy

ROUTE = "/api/admin/service-accounts"


def reason(response: httpx.Response) -> str:
    infos = [d for d in response.json().get("details", []) if "reason" in d]
    return str(infos[0]["reason"]) if infos else ""


def key_header(key: str) -> dict[str, str]:
    return {"x-api-key": key}


@pytest.fixture(scope="module")
def admin(envoy: RunningEnvoy, database: Database) -> dict[str, Any]:
    with httpx.Client(base_url=envoy.base_url, timeout=10) as client:
        return make_admin(client, database)


def create(rest: httpx.Client, admin: dict[str, Any], owner_id: int, *scopes: str,
           name: str | None = None) -> dict[str, Any]:
    response = rest.post(ROUTE, headers=bearer(admin), json={
        "name": name or f"svc-{owner_id}-{len(scopes)}-{abs(hash(scopes)) % 10**6}",
        "owner_id": owner_id, "scopes": list(scopes)})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_list_rotate_revoke_with_audit_entries(rest: httpx.Client, admin: dict[str, Any],
                                                      database: Database) -> None:
    owner = register(rest, "candidate")
    created = create(rest, admin, owner["user"]["id"], "jobs.read", "users.read",
                     name=f"payroll-{owner['user']['id']}")
    account, first = created["account"], created["key"]
    assert first["key"].startswith(f"hg_{first['info']['prefix']}_")
    assert account["scopes"] == ["jobs.read", "users.read"] and account["owner_id"] == owner["user"]["id"]
    assert rest.get("/api/users/profile", headers=key_header(first["key"])).status_code == 200

    rotated = rest.post(f"{ROUTE}/{account['id']}/keys", headers=bearer(admin),
                        json={"expires_in_days": 30})
    assert rotated.status_code == 201, rotated.text
    second = rotated.json()["key"]
    expires = dt.datetime.fromisoformat(second["info"]["expires_at"].replace("Z", "+00:00"))
    assert dt.timedelta(days=29) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=30)
    for key in (first["key"], second["key"]):  # both work while the service switches over
        assert rest.get("/api/users/profile", headers=key_header(key)).status_code == 200

    listed = rest.get(ROUTE, headers=bearer(admin))
    assert listed.status_code == 200
    assert first["key"] not in listed.text and second["key"] not in listed.text
    [mine] = [a for a in listed.json()["accounts"] if a["id"] == account["id"]]
    assert [k["prefix"] for k in mine["keys"]] == [second["info"]["prefix"], first["info"]["prefix"]]
    assert "last_used_at" in mine["keys"][1]

    revoked = rest.delete(f"{ROUTE}/{account['id']}/keys/{first['info']['id']}", headers=bearer(admin))
    assert revoked.status_code == 200 and "revoked_at" in revoked.json()["key"]
    refused = rest.get("/api/users/profile", headers=key_header(first["key"]))
    assert refused.status_code == 401 and reason(refused) == "API_KEY_REVOKED"
    assert rest.get("/api/users/profile", headers=key_header(second["key"])).status_code == 200

    with database.session_scope() as session:
        entries = session.scalars(sa.select(AuditEntry).where(
            AuditEntry.target == f"service_account:{account['id']}").order_by(AuditEntry.id)).all()
        assert [e.action for e in entries] == ["service_account.create", "service_account.key_create",
                                               "service_account.key_revoke"]
        assert {e.actor_user_id for e in entries} == {admin["user"]["id"]}
        assert all(first["key"] not in str(e.details) and second["key"] not in str(e.details)
                   for e in entries)
        stored = session.scalars(sa.select(ServiceAccountKey.key_hash)
                                 .where(ServiceAccountKey.account_id == account["id"])).all()
        assert all(first["key"].encode() not in bytes(h) for h in stored)


def test_both_header_forms_and_scopes_decide(rest: httpx.Client, admin: dict[str, Any]) -> None:
    owner = register(rest, "company")
    key = create(rest, admin, owner["user"]["id"], "jobs.read")["key"]["key"]
    assert rest.get("/api/jobs", headers={"x-api-key": key}).status_code == 200
    assert rest.get("/api/jobs", headers={"Authorization": f"ApiKey {key}"}).status_code == 200
    write = rest.post("/api/jobs", headers=key_header(key), json={"title": "x"})
    assert write.status_code == 403 and reason(write) == "SCOPE_MISSING"
    other_module = rest.get("/api/users/profile", headers=key_header(key))
    assert other_module.status_code == 403 and reason(other_module) == "SCOPE_MISSING"


def test_keys_never_call_sign_in_flows_or_manage_keys(rest: httpx.Client,
                                                      admin: dict[str, Any]) -> None:
    every_scope = ["jobs.read", "jobs.write", "users.read", "users.write"]
    key = create(rest, admin, admin["user"]["id"], *every_scope)["key"]["key"]  # an admin's
    for method, path in (("GET", ROUTE), ("POST", ROUTE), ("GET", "/api/auth/me"),
                         ("POST", "/api/auth/logout")):
        response = rest.request(method, path, headers=key_header(key), json={})
        assert response.status_code == 403, (path, response.text)
        assert reason(response) == "API_KEY_NOT_ALLOWED"


def test_only_admins_manage_service_accounts(rest: httpx.Client) -> None:
    company = register(rest, "company")
    response = rest.post(ROUTE, headers=bearer(company), json={
        "name": "sneaky", "owner_id": company["user"]["id"], "scopes": ["jobs.read"]})
    assert response.status_code == 403
    assert rest.get(ROUTE).status_code == 401


@pytest.mark.parametrize("value", [
    "garbage", "hg_" + "a" * 64, "hg_aaaaaaaaaaaa_" + "A" * 51, "x" * 8000, "hg_", "ApiKey",
])
def test_garbage_keys_are_a_clear_401(rest: httpx.Client, value: str) -> None:
    for headers in ({"x-api-key": value}, {"Authorization": f"ApiKey {value}"}):
        response = rest.get("/api/jobs", headers=headers)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["message"] == "Invalid API key"
        assert len(value) < 8 or value not in response.text


def test_expired_keys_and_deactivated_owners_are_refused(rest: httpx.Client, admin: dict[str, Any],
                                                         database: Database) -> None:
    owner = register(rest, "candidate")
    expired = create(rest, admin, owner["user"]["id"], "jobs.read", name=f"old-{owner['user']['id']}")
    with database.session_scope() as session:
        session.execute(sa.update(ServiceAccountKey)
                        .where(ServiceAccountKey.id == expired["key"]["info"]["id"])
                        .values(expires_at=sa.func.now() - dt.timedelta(minutes=1)))
    response = rest.get("/api/jobs", headers=key_header(expired["key"]["key"]))
    assert response.status_code == 401 and reason(response) == "API_KEY_EXPIRED"

    other = register(rest, "candidate")
    live = create(rest, admin, other["user"]["id"], "jobs.read", name=f"gone-{other['user']['id']}")
    with database.session_scope() as session:
        session.execute(sa.update(User).where(User.id == other["user"]["id"]).values(is_active=False))
    response = rest.get("/api/jobs", headers=key_header(live["key"]["key"]))
    assert response.status_code == 401 and reason(response) == "ACCOUNT_UNAVAILABLE"


def test_a_key_and_a_token_together_are_refused(rest: httpx.Client, admin: dict[str, Any]) -> None:
    owner = register(rest, "candidate")
    key = create(rest, admin, owner["user"]["id"], "jobs.read")["key"]["key"]
    response = rest.get("/api/jobs", headers={"x-api-key": key, **bearer(owner)})
    assert response.status_code == 401 and reason(response) == "CREDENTIALS_AMBIGUOUS"


@pytest.mark.parametrize(("payload", "field"), [
    ({"name": "Bad Name!", "scopes": ["jobs.read"]}, "name"),
    ({"name": "ok-name-1", "scopes": ["jobs.everything"]}, "scopes"),
    ({"name": "ok-name-2", "scopes": []}, "scopes"),
    ({"name": "ok-name-3", "scopes": ["AuthService.Login"]}, "scopes"),
    ({"name": "ok-name-4", "scopes": ["jobs.read"], "expires_in_days": 9999}, "expires_in_days"),
    ({"name": "ok-name-5", "scopes": ["jobs.read"], "owner_id": 987654321}, "owner_id"),
])
def test_bad_requests_name_the_field(rest: httpx.Client, admin: dict[str, Any],
                                     payload: dict[str, Any], field: str) -> None:
    body = {"owner_id": admin["user"]["id"], **payload}
    response = rest.post(ROUTE, headers=bearer(admin), json=body)
    assert response.status_code == 400, response.text
    violations = [v for d in response.json()["details"] for v in d.get("field_violations", [])]
    assert field in {v["field"] for v in violations}


def test_a_taken_name_is_409(rest: httpx.Client, admin: dict[str, Any]) -> None:
    create(rest, admin, admin["user"]["id"], "jobs.read", name="taken-name")
    again = rest.post(ROUTE, headers=bearer(admin), json={
        "name": "taken-name", "owner_id": admin["user"]["id"], "scopes": ["jobs.read"]})
    assert again.status_code == 409


def test_keys_never_reach_the_logs(rest: httpx.Client, admin: dict[str, Any], envoy: RunningEnvoy,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    owner = register(rest, "candidate")
    created = create(rest, admin, owner["user"]["id"], "jobs.read", name=f"logs-{owner['user']['id']}")
    key = created["key"]["key"]
    rest.get("/api/jobs", headers=key_header(key))
    rest.post("/api/jobs", headers=key_header(key), json={})
    rest.get("/api/jobs", headers={"Authorization": f"ApiKey {key}"})
    rest.get("/api/jobs", headers=key_header(key[:-1] + "Z"))
    rotated = rest.post(f"{ROUTE}/{created['account']['id']}/keys", headers=bearer(admin), json={})
    second = rotated.json()["key"]["key"]
    rest.delete(f"{ROUTE}/{created['account']['id']}/keys/{created['key']['info']['id']}",
                headers=bearer(admin))
    rest.get("/api/jobs", headers=key_header(key))
    captured = capsys.readouterr()
    logs = captured.out + captured.err + envoy.access_log.read_text()
    assert "service_account_id" in logs or "/api/jobs" in logs, "the calls were logged at all"
    secret_part = key[len("hg_") + 12 + 1:]
    for secret in (key, second, secret_part, second[-20:]):
        assert secret not in logs
