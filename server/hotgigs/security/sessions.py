"""Login sessions and their revocation, in PostgreSQL (the only truth).

Every authenticated RPC asks `hotgigs.security.access.AccessState` whether its token's user
and session are still usable; that answer is cached per worker for at most
AUTH_USER_STATE_TTL_SECONDS, and a revocation made here drops this worker's cached answer once
it commits, so it holds at once on this worker and within the bound on every other.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from hotgigs.db import after_commit
from hotgigs.models import AuthSession
from hotgigs.security.access import AccessState

log = structlog.get_logger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_session_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class SessionStore:
    """Creates and revokes sessions."""

    def __init__(self, access: AccessState, *, lifetime_seconds: int) -> None:
        self.access = access
        self.lifetime_seconds = lifetime_seconds

    def create(self, session: Session, *, user_id: int) -> AuthSession:
        now = _now()
        row = AuthSession(id=uuid.uuid4(), user_id=user_id, created_at=now, last_used_at=now,
                          expires_at=now + dt.timedelta(seconds=self.lifetime_seconds))
        session.add(row)
        session.flush()
        return row

    def revoke(self, session: Session, session_ids: list[uuid.UUID], *, reason: str) -> None:
        """Mark sessions revoked in the caller's transaction; once it commits, this worker
        forgets its cached answers for them."""
        if not session_ids:
            return
        rows = session.scalars(
            sa.update(AuthSession)
            .where(AuthSession.id.in_(session_ids), AuthSession.revoked_at.is_(None))
            .values(revoked_at=_now(), revoked_reason=reason)
            .returning(AuthSession.id)
        ).all()
        after_commit(session, functools.partial(self.access.forget, list(session_ids)))
        log.info("sessions_revoked", count=len(rows), reason=reason)

    def revoke_all_for_user(self, session: Session, *, user_id: int, reason: str,
                            keep: uuid.UUID | None = None) -> None:
        query = sa.select(AuthSession.id).where(AuthSession.user_id == user_id,
                                                AuthSession.revoked_at.is_(None))
        if keep is not None:
            query = query.where(AuthSession.id != keep)
        self.revoke(session, list(session.scalars(query)), reason=reason)
