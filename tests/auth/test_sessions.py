"""Session revocation is durable; idle sessions cannot refresh."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import grpc
import httpx
import pytest
import sqlalchemy as sa

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.grpc_server.server import create_server
from hotgigs.models import AuthSession
from hotgigs.security.sessions import WARM_MARKER, SessionStore
from hotgigs.settings import Settings
from hotgigs.v1 import auth_pb2, auth_pb2_grpc
from tests.auth.helpers import bearer, register
from tests.conftest import make_settings


def test_logout_survives_a_restart_of_the_service_and_a_flushed_redis(
        rest: httpx.Client, database: Database, cache: Cache, redis_url: str,
        tmp_path: Path) -> None:
    account = register(rest, "candidate")
    assert rest.post("/api/auth/logout", json={}, headers=bearer(account)).status_code == 200
    cache.client.flushdb()  # Redis lost everything
    fresh_cache = Cache(redis_url)
    server = create_server(make_settings(tmp_path), database, fresh_cache)
    server.start()  # a freshly started service: nothing in memory
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = auth_pb2_grpc.AuthServiceStub(channel)
            with pytest.raises(grpc.RpcError) as caught:
                stub.GetCurrentUser(auth_pb2.GetCurrentUserRequest(), timeout=5,
                                    metadata=(("authorization", f"Bearer {account['access_token']}"),))
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert cache.client.exists(WARM_MARKER), "the revocations were re-loaded into Redis"
    finally:
        server.stop(0)
        fresh_cache.close()


def test_revocation_is_answered_by_the_database_when_redis_is_down(
        database: Database) -> None:
    dead = Cache("redis://127.0.0.1:1/0", timeout_seconds=0.2)
    store = SessionStore(database, dead, lifetime_seconds=3600)
    with database.session_scope() as session:
        user_id = session.scalar(sa.text("SELECT min(id) FROM users"))
        assert user_id is not None
        kept = store.create(session, user_id=user_id)
        ended = store.create(session, user_id=user_id)
        store.revoke(session, [ended.id], reason="test")
    assert store.is_revoked(str(ended.id))
    assert not store.is_revoked(str(kept.id))
    assert store.is_revoked("not-a-session-id")


def test_an_idle_session_cannot_refresh(rest: httpx.Client, database: Database,
                                        settings: Settings) -> None:
    account = register(rest, "company")
    claims_sid = _session_of(rest, account)
    with database.session_scope() as session:
        session.execute(sa.update(AuthSession).where(AuthSession.id == claims_sid).values(
            last_used_at=dt.datetime.now(dt.UTC)
            - dt.timedelta(seconds=settings.session_idle_timeout_seconds + 60)))
    response = rest.post("/api/auth/refresh", json={"refresh_token": account["refresh_token"]})
    assert response.status_code == 401
    assert "inactivity" in response.json()["message"]
    assert rest.get("/api/auth/me", headers=bearer(account)).status_code == 401


def _session_of(rest: httpx.Client, account: dict[str, object]) -> uuid.UUID:
    import jwt

    claims = jwt.decode(str(account["access_token"]), options={"verify_signature": False})
    return uuid.UUID(claims["sid"])
