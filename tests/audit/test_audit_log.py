"""Issue 18 item 5: the audit log of security events, read by admins through REST.

Sign-ins (ok, failed, throttled), membership changes and service-account actions leave entries
written by one helper; admins list them with filters and paging; no password, token or key
ever lands in an entry; entries past AUDIT_LOG_RETENTION_DAYS are pruned.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hotgigs.audit import service as audit_service
from hotgigs.audit.pruner import AuditPruner
from hotgigs.db import Database
from hotgigs.models import AuditEntry
from hotgigs.settings import ConfigError, Settings
from tests import factories
from tests.support.rest import STRONG_PASSWORD, bearer, register
from tests.support.rest import admin as make_admin
from tests.support.servers import RunningEnvoy

ROUTE = "/api/admin/audit-log"
WRONG_PASSWORD = "Not-The-Passw0rd-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def admin(envoy: RunningEnvoy, database: Database) -> dict[str, Any]:
    with httpx.Client(base_url=envoy.base_url, timeout=10) as client:
        return make_admin(client, database)


def entries(rest: httpx.Client, admin: dict[str, Any], **params: Any) -> dict[str, Any]:
    response = rest.get(ROUTE, headers=bearer(admin), params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def login(rest: httpx.Client, email: str, password: str) -> httpx.Response:
    return rest.post("/api/auth/login", json={"email": email, "password": password})


class TestSecurityEvents:
    def test_sign_ins_and_lockouts_are_recorded_without_secrets(
            self, rest: httpx.Client, admin: dict[str, Any], database: Database) -> None:
        account = register(rest, "candidate")
        user_id, email = account["user"]["id"], account["user"]["email"]
        signed_in = login(rest, email, STRONG_PASSWORD)
        assert signed_in.status_code == 200
        for _ in range(5):
            assert login(rest, email, WRONG_PASSWORD).status_code == 401
        assert login(rest, email, WRONG_PASSWORD).status_code == 429  # throttled
        unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
        assert login(rest, unknown, WRONG_PASSWORD).status_code == 401

        mine = entries(rest, admin, target=f"user:{user_id}", limit=100)["entries"]
        actions = [entry["action"] for entry in mine]
        assert actions.count("auth.login") == 1 and actions.count("auth.login_failed") == 5
        ok = next(entry for entry in mine if entry["action"] == "auth.login")
        assert ok["actor_user_id"] == user_id and ok["details"]["client_address"]
        failed = next(entry for entry in mine if entry["action"] == "auth.login_failed")
        assert "actor_user_id" not in failed and failed["details"]["reason"] == "bad_password"
        throttled = entries(rest, admin, target=f"email:{email}")["entries"]
        assert [entry["action"] for entry in throttled] == ["auth.login_throttled"]
        [stranger] = entries(rest, admin, target=f"email:{unknown}")["entries"]
        assert stranger["details"]["reason"] == "unknown_email"

        secrets = [WRONG_PASSWORD, STRONG_PASSWORD, account["access_token"],
                   account["refresh_token"], signed_in.json()["access_token"],
                   signed_in.json()["refresh_token"]]
        assert_no_secret_stored(database, secrets)

    def test_service_account_keys_never_reach_the_log(
            self, rest: httpx.Client, admin: dict[str, Any], database: Database) -> None:
        owner = register(rest, "company")
        created = rest.post("/api/admin/service-accounts", headers=bearer(admin), json={
            "name": f"audit-{uuid.uuid4().hex[:8]}", "owner_id": owner["user"]["id"],
            "scopes": ["jobs.read"]})
        assert created.status_code == 201, created.text
        account_id = created.json()["account"]["id"]
        [entry] = entries(rest, admin, target=f"service_account:{account_id}")["entries"]
        assert entry["action"] == "service_account.create"
        assert entry["actor_user_id"] == admin["user"]["id"]
        assert entry["details"]["key_prefix"] == created.json()["key"]["info"]["prefix"]
        assert_no_secret_stored(database, [created.json()["key"]["key"]])

    def test_membership_changes_are_recorded(self, rest: httpx.Client,
                                             admin: dict[str, Any]) -> None:
        owner = register(rest, "company")
        company = factories.company(rest, owner)
        [entry] = entries(rest, admin, target=f"company:{company['id']}")["entries"]
        assert entry["action"] == "company.member_add"
        assert entry["details"] == {"user_id": owner["user"]["id"], "role": "admin",
                                    "via": "create"}


def assert_no_secret_stored(database: Database, secrets: list[str]) -> None:
    """No entry's target or details holds any of `secrets` (or a JWT's signature part)."""
    with database.session_scope() as session:
        rows = session.execute(sa.select(AuditEntry.target, AuditEntry.details)).all()
    text = "\n".join(f"{target} {json.dumps(details)}" for target, details in rows)
    assert rows
    for secret in secrets:
        assert secret not in text
        assert secret.split(".")[-1] not in text


class TestReading:
    def test_filters_and_paging(self, rest: httpx.Client, admin: dict[str, Any],
                                database: Database) -> None:
        target = f"test:{uuid.uuid4().hex[:8]}"
        now = dt.datetime.now(dt.UTC)
        with database.session_scope() as session:
            for index in range(5):
                audit_service.record(session, actor_user_id=admin["user"]["id"],
                                     action="test.first" if index % 2 else "test.second",
                                     target=target, details={"index": index})
            audit_service.record(session, actor_user_id=None, action="other.thing",
                                 target=target)
        everything = entries(rest, admin, target=target)
        assert everything["pagination"]["total"] == 6
        ids = [int(entry["id"]) for entry in everything["entries"]]
        assert ids == sorted(ids, reverse=True), "newest first"
        first = entries(rest, admin, target=target, limit=2)
        second = entries(rest, admin, target=target, limit=2, offset=2)
        assert [e["id"] for e in first["entries"] + second["entries"]] == \
            [e["id"] for e in everything["entries"][:4]]
        assert first["pagination"] == {"limit": 2, "offset": 0, "total": 6}
        assert entries(rest, admin, target=target, action="test.first")["pagination"]["total"] == 2
        assert entries(rest, admin, target=target, action="test.")["pagination"]["total"] == 5
        by_actor = entries(rest, admin, target=target, actor_user_id=admin["user"]["id"])
        assert by_actor["pagination"]["total"] == 5
        later = (now + dt.timedelta(hours=1)).isoformat()
        earlier = (now - dt.timedelta(hours=1)).isoformat()
        assert entries(rest, admin, target=target, since=later)["pagination"]["total"] == 0
        assert entries(rest, admin, target=target, since=earlier,
                       until=later)["pagination"]["total"] == 6

    @pytest.mark.parametrize(("params", "field"), [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-12-01T00:00:00"}, "until"),  # no zone
        ({"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, "until"),
        ({"action": "DROP TABLE"}, "action"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"actor_user_id": 0}, "actor_user_id"),
        ({"target": "x" * 129}, "target"),
    ])
    def test_bad_filters_are_400_naming_the_field(self, rest: httpx.Client, admin: dict[str, Any],
                                                  params: dict[str, Any], field: str) -> None:
        response = rest.get(ROUTE, headers=bearer(admin), params=params)
        assert response.status_code == 400, response.text
        assert field in response.text

    def test_only_admins_read_it(self, rest: httpx.Client) -> None:
        assert rest.get(ROUTE).status_code == 401
        assert rest.get(ROUTE, headers=bearer(register(rest, "company"))).status_code == 403


class TestScrub:
    def test_secret_names_and_secret_looking_text_are_redacted(self) -> None:
        jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
        api_key = "hg_abcdefghijkl_" + "s" * 43
        cleaned = audit_service.scrub({
            "password": "hunter2", "new_password": "x", "refresh_token": "r", "api_key": "k",
            "key": "k", "authorization": "Bearer x", "key_prefix": "abcdefghijkl",
            "note": f"sent {jwt_like} and {api_key}", "nested": {"secret": "s", "ok": [1, "a\x00b"]},
            "client_address": "127.0.0.1"})
        assert cleaned == {
            "password": "[redacted]", "new_password": "[redacted]", "refresh_token": "[redacted]",
            "api_key": "[redacted]", "key": "[redacted]", "authorization": "[redacted]",
            "key_prefix": "abcdefghijkl", "note": "sent [redacted] and [redacted]",
            "nested": {"secret": "[redacted]", "ok": [1, "ab"]}, "client_address": "127.0.0.1"}

    def test_sizes_are_bounded(self) -> None:
        deep: dict[str, Any] = {"a": {"b": {"c": {"d": {"e": 1}}}}}
        cleaned = audit_service.scrub({"long": "x" * 10_000, "many": list(range(1000)), **deep})
        assert len(cleaned["long"]) == 512 and len(cleaned["many"]) == 50
        assert cleaned["a"]["b"]["c"]["d"] == "[nested too deep]"

    def test_an_action_must_name_area_and_verb(self, session: Any) -> None:
        with pytest.raises(ValueError, match="area"):
            audit_service.record(session, actor_user_id=None, action="login", target="user:1")


class TestRetention:
    def test_the_pruner_deletes_only_entries_past_the_retention(self, database: Database) -> None:
        target = f"retention:{uuid.uuid4().hex[:8]}"
        now = dt.datetime.now(dt.UTC)
        with database.session_scope() as session:
            for days in (400, 366, 364, 1):
                audit_service.record(session, actor_user_id=None, action="test.retention",
                                     target=target, details={"days": days})
            session.execute(sa.update(AuditEntry).where(AuditEntry.target == target).values(
                created_at=now - sa.func.make_interval(0, 0, 0,
                                                       AuditEntry.details["days"].as_integer())))
        pruner = AuditPruner(database, retention_days=365)
        assert pruner.run_once(now) >= 2
        with database.session_scope() as session:
            left = sorted(row.details["days"] for row in
                          audit_service.entries_about(session, target=target))
        assert left == [1, 364]

    def test_the_pruner_works_in_bounded_batches(self, database: Database) -> None:
        target = f"batch:{uuid.uuid4().hex[:8]}"
        with database.session_scope() as session:
            for _ in range(7):
                audit_service.record(session, actor_user_id=None, action="test.batch",
                                     target=target)
            session.execute(sa.update(AuditEntry).where(AuditEntry.target == target)
                            .values(created_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
        with database.session_scope() as session:
            assert audit_service.prune(session, older_than=dt.datetime(2001, 1, 1, tzinfo=dt.UTC),
                                       batch=3) == 3
        pruner = AuditPruner(database, retention_days=1)
        pruner.start()
        try:
            from tests.support.waiting import eventually

            def gone() -> bool:
                with database.session_scope() as session:
                    return not audit_service.entries_about(session, target=target)
            eventually(gone)
        finally:
            pruner.stop()

    @pytest.mark.parametrize("value", ["0", "-1", "forever", "36501"])
    def test_the_setting_is_checked(self, value: str) -> None:
        with pytest.raises(ConfigError, match="AUDIT_LOG_RETENTION_DAYS"):
            Settings.from_env({"AUDIT_LOG_RETENTION_DAYS": value})
