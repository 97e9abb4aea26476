"""Whether an access token may still be used: its user exists and is active, and its session
exists and is not revoked. PostgreSQL is the only truth.

A signed token stays valid until it expires, so every authenticated RPC asks `check(user_id,
session_id)`. One indexed query answers it (users by primary key, left-joined to
auth_sessions by primary key); each worker keeps the answer for at most
`AUTH_USER_STATE_TTL_SECONDS` (default 5, never more), so a deactivation, deletion, logout or
password change is honoured by every worker within that bound while the hot path runs no
query for a caller seen in the last few seconds. A revocation made by this worker is
honoured by it at once (`forget`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Iterable

import sqlalchemy as sa
import structlog

from hotgigs.db import Database
from hotgigs.errors import Unauthenticated
from hotgigs.models import AuthSession, User

log = structlog.get_logger(__name__)

ACCOUNT_UNAVAILABLE = "ACCOUNT_UNAVAILABLE"
SESSION_REVOKED = "SESSION_REVOKED"
MAX_ENTRIES = 100_000


@dataclasses.dataclass(frozen=True)
class _Verdict:
    user_id: int
    reason: str | None  # None: the token may be used
    until: float  # monotonic time after which the answer must be asked again


def refusal(reason: str) -> Unauthenticated:
    """The 401 for a token whose user or session is no longer usable."""
    if reason == ACCOUNT_UNAVAILABLE:
        return Unauthenticated("This account is not available", reason=ACCOUNT_UNAVAILABLE)
    return Unauthenticated("This session has ended; sign in again", reason=SESSION_REVOKED)


class AccessState:
    """The per-worker, bounded-staleness cache of (user, session) verdicts."""

    def __init__(self, database: Database, *, ttl_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._verdicts: dict[str, _Verdict] = {}
        self._lock = threading.Lock()

    def check(self, user_id: int, session_id: str) -> None:
        """Return when the token's user and session are usable; raise `Unauthenticated`
        (ACCOUNT_UNAVAILABLE or SESSION_REVOKED) otherwise."""
        now = self.clock()
        verdict = self._verdicts.get(session_id)
        if verdict is None or verdict.until <= now or verdict.user_id != user_id:
            verdict = _Verdict(user_id, self._ask(user_id, session_id), now + self.ttl_seconds)
            self._remember(session_id, verdict, now)
        if verdict.reason is not None:
            raise refusal(verdict.reason)

    def forget(self, session_ids: Iterable[uuid.UUID | str]) -> None:
        """Drop cached answers (this worker revoked these sessions)."""
        with self._lock:
            for session_id in session_ids:
                self._verdicts.pop(str(session_id), None)

    def _remember(self, session_id: str, verdict: _Verdict, now: float) -> None:
        with self._lock:
            if len(self._verdicts) >= MAX_ENTRIES:
                self._verdicts = {k: v for k, v in self._verdicts.items() if v.until > now}
                if len(self._verdicts) >= MAX_ENTRIES:
                    self._verdicts.clear()
            self._verdicts[session_id] = verdict

    def _ask(self, user_id: int, session_id: str) -> str | None:
        try:
            parsed = uuid.UUID(session_id)
        except ValueError:
            return SESSION_REVOKED
        with self.database.session_scope() as session:
            row = session.execute(
                sa.select(User.is_active, AuthSession.id, AuthSession.revoked_at)
                .select_from(User)
                .outerjoin(AuthSession, sa.and_(AuthSession.id == parsed,
                                                AuthSession.user_id == User.id))
                .where(User.id == user_id)).first()
        if row is None or not row.is_active:
            return ACCOUNT_UNAVAILABLE
        if row.id is None or row.revoked_at is not None:
            return SESSION_REVOKED
        return None
