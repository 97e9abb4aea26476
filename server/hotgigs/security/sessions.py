"""Login sessions and their revocation, with PostgreSQL as the truth and Redis as the hot copy.

Every authenticated RPC asks `is_revoked(session_id)`. Redis answers it from keys
`hg:revoked:<sid>` once a "warm" marker says the keys mirror the database; the marker lives
60 s, after which the revoked sessions are reloaded from `auth_sessions` (a partial index makes
that cheap). So a revocation survives a restart of the service and of Redis, and when Redis is
down the database answers directly.
"""

from __future__ import annotations

import datetime as dt
import uuid

import redis
import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.models import AuthSession

log = structlog.get_logger(__name__)

WARM_MARKER = "hg:revocations:warm"
WARM_SECONDS = 60
_PREFIX = "hg:revoked:"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_session_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class SessionStore:
    """Creates, touches and revokes sessions; answers whether one is revoked."""

    def __init__(self, database: Database, cache: Cache, *, lifetime_seconds: int) -> None:
        self.database = database
        self.cache = cache
        self.lifetime_seconds = lifetime_seconds

    def create(self, session: Session, *, user_id: int) -> AuthSession:
        now = _now()
        row = AuthSession(id=uuid.uuid4(), user_id=user_id, created_at=now, last_used_at=now,
                          expires_at=now + dt.timedelta(seconds=self.lifetime_seconds))
        session.add(row)
        session.flush()
        return row

    def revoke(self, session: Session, session_ids: list[uuid.UUID], *, reason: str) -> None:
        """Mark sessions revoked in the caller's transaction and tell Redis at once (a rollback
        afterwards can only leave a session revoked that was meant to stay: the safe side)."""
        if not session_ids:
            return
        now = _now()
        rows = session.execute(
            sa.update(AuthSession)
            .where(AuthSession.id.in_(session_ids), AuthSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
            .returning(AuthSession.id, AuthSession.expires_at)
        ).all()
        self._mirror([(row.id, row.expires_at) for row in rows], now)
        log.info("sessions_revoked", count=len(rows), reason=reason)

    def revoke_all_for_user(self, session: Session, *, user_id: int, reason: str,
                            keep: uuid.UUID | None = None) -> None:
        query = sa.select(AuthSession.id).where(AuthSession.user_id == user_id,
                                                AuthSession.revoked_at.is_(None))
        if keep is not None:
            query = query.where(AuthSession.id != keep)
        self.revoke(session, list(session.scalars(query)), reason=reason)

    def _mirror(self, rows: list[tuple[uuid.UUID, dt.datetime]], now: dt.datetime) -> None:
        try:
            pipe = self.cache.client.pipeline(transaction=False)
            for session_id, expires_at in rows:
                ttl = max(1, int((expires_at - now).total_seconds()))
                pipe.set(f"{_PREFIX}{session_id}", b"1", ex=ttl)
            pipe.execute()
        except redis.RedisError:
            # Redis will be re-warmed from the database within WARM_SECONDS of coming back.
            log.warning("revocation_not_mirrored", count=len(rows))

    def _warm(self) -> None:
        now = _now()
        with self.database.session_scope() as session:
            rows = session.execute(
                sa.select(AuthSession.id, AuthSession.expires_at)
                .where(AuthSession.revoked_at.is_not(None), AuthSession.expires_at > now)
            ).all()
        self._mirror([(row.id, row.expires_at) for row in rows], now)
        self.cache.client.set(WARM_MARKER, b"1", ex=WARM_SECONDS)

    def _revoked_in_database(self, session_id: uuid.UUID) -> bool:
        with self.database.session_scope() as session:
            revoked_at = session.scalar(
                sa.select(AuthSession.revoked_at).where(AuthSession.id == session_id))
        return revoked_at is not None

    def is_revoked(self, session_id: str) -> bool:
        """True when the session is revoked (or the id is not a session id)."""
        parsed = parse_session_id(session_id)
        if parsed is None:
            return True
        try:
            pipe = self.cache.client.pipeline(transaction=False)
            pipe.exists(WARM_MARKER)
            pipe.exists(f"{_PREFIX}{parsed}")
            warm, revoked = pipe.execute()
            if not warm:
                self._warm()
                revoked = self.cache.client.exists(f"{_PREFIX}{parsed}")
            return bool(revoked)
        except redis.RedisError:
            return self._revoked_in_database(parsed)
