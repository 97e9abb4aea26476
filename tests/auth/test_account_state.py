"""Issue 12 item 5: a token is only as good as its user's current state and its session.

Deactivated and deleted users, and revoked sessions, are refused within
AUTH_USER_STATE_TTL_SECONDS (5 s) on every worker, over REST through Envoy and over gRPC, and
the live feed ends for them. The tests poll for the refusal (they never assert a duration).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
import sqlalchemy as sa

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.errors import Unauthenticated
from hotgigs.grpc_server.server import create_server
from hotgigs.models import AuthSession, User
from hotgigs.security.access import ACCOUNT_UNAVAILABLE, SESSION_REVOKED, AccessState
from hotgigs.settings import ConfigError, Settings
from hotgigs.v1 import auth_pb2, auth_pb2_grpc
from tests import factories
from tests.support.rest import apply, bearer, register, upload
from tests.support.servers import RunningEnvoy, make_settings
from tests.support.waiting import eventually


def reason(response: httpx.Response) -> str:
    infos = [d for d in response.json().get("details", []) if "reason" in d]
    return str(infos[0]["reason"]) if infos else ""


def set_active(database: Database, user_id: int, active: bool) -> None:
    with database.session_scope() as session:
        session.execute(sa.update(User).where(User.id == user_id).values(is_active=active))


def delete_user(database: Database, user_id: int) -> None:
    with database.session_scope() as session:
        session.execute(sa.delete(User).where(User.id == user_id))


class TestOverRest:
    def test_a_deactivated_user_cannot_apply_or_upload(self, rest: httpx.Client,
                                                       database: Database) -> None:
        """It applied and uploaded with 201 before."""
        _, job = factories.owner_with_job(rest, company_name="Notify Co")
        candidate = register(rest, "candidate")
        assert rest.get("/api/auth/me", headers=bearer(candidate)).status_code == 200
        set_active(database, candidate["user"]["id"], False)
        eventually(lambda: apply(rest, candidate, job["id"]).status_code == 401)
        refused = apply(rest, candidate, job["id"])
        assert reason(refused) == ACCOUNT_UNAVAILABLE
        uploaded = upload(rest, candidate, b"my cv", "cv.txt", "text/plain")
        assert uploaded.status_code == 401, uploaded.text
        set_active(database, candidate["user"]["id"], True)
        eventually(lambda: reason(apply(rest, candidate, job["id"])) == SESSION_REVOKED)
        # re-activation does not revive the old sessions (the trigger revoked them)

    def test_a_deleted_user_gets_401_not_500_or_409(self, rest: httpx.Client,
                                                   database: Database) -> None:
        _, job = factories.owner_with_job(rest, company_name="Notify Co")
        candidate = register(rest, "candidate")
        assert apply(rest, candidate, job["id"]).status_code == 201
        delete_user(database, candidate["user"]["id"])
        eventually(lambda: rest.get("/api/applications",
                                    headers=bearer(candidate)).status_code == 401)
        for response in (apply(rest, candidate, job["id"]),
                         upload(rest, candidate, b"my cv", "cv.txt", "text/plain"),
                         rest.get("/api/applications", headers=bearer(candidate))):
            assert response.status_code == 401, response.text
            assert reason(response) == ACCOUNT_UNAVAILABLE

    def test_the_live_feed_ends_for_a_deactivated_user(self, rest: httpx.Client,
                                                      envoy: RunningEnvoy,
                                                      database: Database) -> None:
        """Before, the feed went on (a heartbeat every 30 s) for as long as the client stayed."""
        owner, _ = factories.owner_with_job(rest, company_name="Notify Co")
        lines: list[str] = []
        # a read timeout below the 30 s heartbeat: a feed that goes on fails with ReadTimeout
        with httpx.Client(base_url=envoy.base_url, timeout=httpx.Timeout(20.0)) as client, \
                client.stream("GET", "/api/notifications/stream", headers=bearer(owner)) as stream:
            for line in stream.iter_lines():
                lines.append(line)
                if line.startswith("data:") and len(lines) == 1:
                    assert json.loads(line[5:])["event"] == "heartbeat"
                    set_active(database, owner["user"]["id"], False)
        assert lines and lines[0].startswith("data:")


@pytest.fixture
def second_worker(settings: Settings, database: Database, redis_url: str,
                  tmp_path: Path) -> Iterator[auth_pb2_grpc.AuthServiceStub]:
    """Another worker process's view: its own server and caches over the same database."""
    cache = Cache(redis_url)
    server = create_server(make_settings(tmp_path, jwt_secret_key=settings.jwt_secret_key),
                           database, cache)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield auth_pb2_grpc.AuthServiceStub(channel)
    finally:
        server.stop(0)
        cache.close()


def grpc_code(stub: auth_pb2_grpc.AuthServiceStub, token: str) -> grpc.StatusCode:
    try:
        stub.GetCurrentUser(auth_pb2.GetCurrentUserRequest(), timeout=10,
                            metadata=(("authorization", f"Bearer {token}"),))
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


class TestAcrossWorkers:
    def test_logout_on_one_worker_holds_on_another(
            self, rest: httpx.Client,
            second_worker: auth_pb2_grpc.AuthServiceStub) -> None:
        account = register(rest, "candidate")
        token = account["access_token"]
        assert grpc_code(second_worker, token) == grpc.StatusCode.OK  # cached there now
        assert rest.post("/api/auth/logout", json={}, headers=bearer(account)).status_code == 200
        assert rest.get("/api/auth/me", headers=bearer(account)).status_code == 401, \
            "the worker that revoked the session honours it at once"
        eventually(lambda: grpc_code(second_worker, token) == grpc.StatusCode.UNAUTHENTICATED)

    def test_a_deactivated_user_is_refused_over_grpc(
            self, rest: httpx.Client, database: Database,
            second_worker: auth_pb2_grpc.AuthServiceStub) -> None:
        account = register(rest, "company")
        assert grpc_code(second_worker, account["access_token"]) == grpc.StatusCode.OK
        set_active(database, account["user"]["id"], False)
        eventually(lambda: grpc_code(second_worker, account["access_token"])
                   == grpc.StatusCode.UNAUTHENTICATED)


class TestCache:
    """AccessState itself, with a clock the test moves (no sleeping)."""

    def _user_and_session(self, database: Database) -> tuple[int, str]:
        with database.session_scope() as session:
            user = User(email=f"state-{uuid.uuid4().hex[:12]}@example.com", password_hash="x",
                        first_name="A", last_name="B", user_type="candidate")
            session.add(user)
            session.flush()
            now = dt.datetime.now(dt.UTC)
            row = AuthSession(id=uuid.uuid4(), user_id=user.id, created_at=now,
                              last_used_at=now, expires_at=now + dt.timedelta(hours=1))
            session.add(row)
            return user.id, str(row.id)

    def test_an_answer_is_kept_at_most_the_ttl(self, database: Database) -> None:
        now = [1000.0]
        state = AccessState(database, ttl_seconds=5.0, clock=lambda: now[0])
        user_id, session_id = self._user_and_session(database)
        state.check(user_id, session_id)
        set_active(database, user_id, False)
        now[0] += 4.9
        state.check(user_id, session_id)  # still the cached answer: no query on the hot path
        now[0] += 0.2
        with pytest.raises(Unauthenticated) as refused:
            state.check(user_id, session_id)
        assert refused.value.reason == ACCOUNT_UNAVAILABLE

    def test_forget_makes_a_local_revocation_hold_at_once(self, database: Database) -> None:
        state = AccessState(database, ttl_seconds=5.0, clock=lambda: 0.0)
        user_id, session_id = self._user_and_session(database)
        state.check(user_id, session_id)
        with database.session_scope() as session:
            session.execute(sa.update(AuthSession).where(AuthSession.user_id == user_id)
                            .values(revoked_at=sa.func.now()))
        state.forget([session_id])
        with pytest.raises(Unauthenticated) as refused:
            state.check(user_id, session_id)
        assert refused.value.reason == SESSION_REVOKED

    @pytest.mark.parametrize("session_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
    def test_an_unknown_session_is_revoked(self, database: Database, session_id: str) -> None:
        user_id, _ = self._user_and_session(database)
        with pytest.raises(Unauthenticated) as refused:
            AccessState(database, ttl_seconds=5.0).check(user_id, session_id)
        assert refused.value.reason == SESSION_REVOKED


def test_the_bound_cannot_be_configured_above_5_seconds() -> None:
    with pytest.raises(ConfigError, match="AUTH_USER_STATE_TTL_SECONDS"):
        Settings.from_env({"AUTH_USER_STATE_TTL_SECONDS": "6"})
    assert Settings.from_env({"AUTH_USER_STATE_TTL_SECONDS": "0.5"}).auth_user_state_ttl_seconds == 0.5
