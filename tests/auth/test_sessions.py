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
from hotgigs.errors import Unauthenticated
from hotgigs.grpc_server.server import create_server
from hotgigs.models import AuthSession
from hotgigs.security.access import AccessState
from hotgigs.security.sessions import SessionStore
from hotgigs.settings import Settings
from hotgigs.v1 import auth_pb2, auth_pb2_grpc
from tests.support.rest import bearer, register
from tests.support.servers import make_settings


def test_logout_survives_a_restart_of_the_service_and_a_flushed_redis(
        rest: httpx.Client, database: Database, cache: Cache, redis_url: str,
        tmp_path: Path) -> None:
    """PostgreSQL is the truth: neither Redis nor a worker's memory is needed."""
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
    finally:
        server.stop(0)
        fresh_cache.close()


def test_revocation_needs_no_redis(database: Database) -> None:
    """The session store and the access check use PostgreSQL only (Redis may be down)."""
    access = AccessState(database, ttl_seconds=5.0)
    store = SessionStore(access, lifetime_seconds=3600)
    with database.session_scope() as session:
        user_id = session.scalar(sa.text("SELECT min(id) FROM users WHERE is_active"))
        assert user_id is not None
        kept = store.create(session, user_id=user_id)
        ended = store.create(session, user_id=user_id)
    access.check(user_id, str(ended.id))  # cached as usable
    with database.session_scope() as session:
        store.revoke(session, [ended.id], reason="test")
    with pytest.raises(Unauthenticated):  # this worker forgot its answer on commit
        access.check(user_id, str(ended.id))
    access.check(user_id, str(kept.id))
    with pytest.raises(Unauthenticated):
        access.check(user_id, "not-a-session-id")


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
