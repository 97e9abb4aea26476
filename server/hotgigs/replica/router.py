"""Send read-only work to a streaming replica while it is up and caught up; else to the primary.

`ReadReplica.read(work)` / `read_session(work)` run `work` on a replica connection (or session)
when the replica's last check found it up and lagging at most DATABASE_REPLICA_MAX_LAG_SECONDS,
and on the primary otherwise. Every call counts one outcome in
hotgigs_read_replica_queries_total: `replica`, `fallback_down` or `fallback_lag`.

- Down: a monitor thread checks the replica every DATABASE_REPLICA_CHECK_SECONDS (a circuit
  breaker): while its last check failed, reads go straight to the primary without waiting on
  it. A read that finds it dead first (connect error, connection lost mid-query; connect
  timeout REPLICA_CONNECT_TIMEOUT_SECONDS) marks it down at once and runs again on the primary.
  A server that is no longer in recovery (promoted) counts as down: it no longer follows the
  primary the workers write to.
- Lag: measured in time, not from `pg_last_xact_replay_timestamp()` (that grows while the
  primary is idle). Each check reads the primary's WAL position P at time t, then the
  standby's replay position R: once R >= P, the replica holds everything committed before t.
  The lag is the time since the latest such t (an upper bound, within one check interval).
  With the primary unreachable, a standby that replayed all it received counts as caught up.
- A state change (up, down, lagging) is logged once, never per request.
- The replay position vouched for a replica read is kept for the answer cache
  (`replica.generations`): see `replayed()`.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

import psycopg
import sqlalchemy as sa
import structlog
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy.orm import Session

from hotgigs import context as request_context
from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.replica import queries
from hotgigs.replica.generations import Generations
from hotgigs.security.encryption import KeyRing
from hotgigs.settings import Settings
from hotgigs.telemetry import metrics

log = structlog.get_logger(__name__)

T = TypeVar("T")

UP, DOWN, LAGGING = "up", "down", "lagging"
REPLICA, FALLBACK_DOWN, FALLBACK_LAG = metrics.READ_REPLICA_OUTCOMES
#: libpq's smallest connect timeout (a dead host costs one read at most this long; the circuit
#: breaker spares the others).
REPLICA_CONNECT_TIMEOUT_SECONDS: Final = 2

_replayed: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "hotgigs_replica_replayed", default=None)


def replayed() -> int | None:
    """The replay position vouched for the replica read running now (None: on the primary):
    the replica had replayed at least this much WAL before the read began."""
    return _replayed.get()


def _replica_failed(error: BaseException) -> bool:
    """A failure of the replica itself (down, restarting, unreachable, a query cancelled by a
    recovery conflict), not of the read or its caller (a deadline's cancel, a bug)."""
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    original = error.orig
    if isinstance(original, psycopg.errors.QueryCanceled):
        return False  # the caller's deadline: the primary would not do better
    return isinstance(original, psycopg.OperationalError | psycopg.InterfaceError) \
        or error.connection_invalidated


class ReadReplica:
    """Routes read-only work between `replica` and `primary` (see the module docstring)."""

    def __init__(self, primary: Database, replica: Database, *, max_lag_seconds: float = 10.0,
                 check_seconds: float = 1.0, cache: Cache | None = None,
                 generations: Sequence[str] = ()) -> None:
        self.primary = primary
        self.replica = replica
        self.max_lag_seconds = max_lag_seconds
        self.check_seconds = check_seconds
        self.state = DOWN  # until the first check proves otherwise
        self.lag_seconds = float("inf")
        self.replayed_lsn: int | None = None  # the replay position the last check saw
        self._reason = "not checked yet"
        self._pending: collections.deque[tuple[float, int]] = collections.deque(maxlen=10_000)
        self._caught_up_at: float | None = None
        self._lock = threading.Lock()
        self._checking = threading.Lock()  # one check at a time
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._generations = Generations(cache) if cache is not None and generations else None
        self._generation_keys = tuple(generations)
        for outcome in metrics.READ_REPLICA_OUTCOMES:
            metrics.READ_REPLICA_QUERIES.labels(outcome)

    @classmethod
    def from_settings(cls, settings: Settings, primary: Database, *, cache: Cache | None = None,
                      generations: Sequence[str] = ()) -> ReadReplica | None:
        """The router of DATABASE_REPLICA_URL, or None when no replica is configured."""
        if settings.database_replica_url is None:
            return None
        replica = Database(settings.database_replica_url, pool_size=settings.db_pool_size,
                           max_overflow=settings.db_max_overflow,
                           connect_timeout=REPLICA_CONNECT_TIMEOUT_SECONDS,
                           keyring=KeyRing(settings.encryption_keks))  # sealed columns read there too
        return cls(primary, replica, max_lag_seconds=settings.database_replica_max_lag_seconds,
                   check_seconds=settings.database_replica_check_seconds, cache=cache,
                   generations=generations)

    # ---- routing ----
    def read(self, work: Callable[[sa.Connection], T]) -> T:
        """`work` on a hot-read connection (`Database.read_connection`) of the replica, or of
        the primary when the replica is down or lagging (or fails during `work`)."""
        return self._route(work, lambda database: database.read_connection())

    def read_session(self, work: Callable[[Session], T]) -> T:
        """`work` on a session (`Database.session_scope`) of the replica or the primary."""
        return self._route(work, lambda database: database.session_scope())

    def _route(self, work: Callable[[Any], T],
               open_: Callable[[Database], contextlib.AbstractContextManager[Any]]) -> T:
        state, vouched = self.state, self.replayed_lsn or 0  # 0: vouches for nothing
        if state == UP:
            token = _replayed.set(vouched)
            try:
                with open_(self.replica) as connection:
                    result = work(connection)
            except sa.exc.DBAPIError as error:
                if not _replica_failed(error):
                    raise
                self._mark_down(error)
            else:
                metrics.READ_REPLICA_QUERIES.labels(REPLICA).inc()
                self._note_replica_read(vouched)
                return result
            finally:
                _replayed.reset(token)
            outcome = FALLBACK_DOWN
        else:
            outcome = FALLBACK_LAG if state == LAGGING else FALLBACK_DOWN
        metrics.READ_REPLICA_QUERIES.labels(outcome).inc()
        with open_(self.primary) as connection:
            return work(connection)

    @staticmethod
    def _note_replica_read(vouched: int) -> None:
        """Tell the answer cache what the RPC's replica reads had replayed (the least of them)."""
        state = request_context.current()
        if state is not None:
            state.replica_lsn = vouched if state.replica_lsn is None \
                else min(state.replica_lsn, vouched)

    def _mark_down(self, error: BaseException) -> None:
        cause = getattr(error, "orig", None) or error
        if isinstance(cause, psycopg.errors.SerializationFailure):
            return  # a recovery conflict cancelled one query: the replica itself is fine
        self._set(DOWN, reason=f"read failed: {type(cause).__name__}")

    # ---- the primary's WAL position (for the answer cache's generations) ----
    def primary_position(self) -> int | None:
        """The primary's WAL position now, or None when it cannot be read."""
        try:
            with self.primary.read_connection() as connection:
                return queries.primary_position(connection)
        except Exception:
            log.debug("primary_position_unreadable", exc_info=True)
            return None

    # ---- the monitor ----
    def check(self) -> str:
        """Check the replica once (the monitor's tick; tests call it directly): its state after."""
        with self._checking:
            return self._check()

    def _check(self) -> str:
        started = time.monotonic()
        primary_lsn = self.primary_position()
        try:
            with self.replica.read_connection() as connection:
                standby = queries.standby_position(connection)
        except Exception as error:
            cause = getattr(error, "orig", None) or error
            return self._set(DOWN, reason=f"unreachable: {type(cause).__name__}")
        if not standby.in_recovery or standby.replayed is None:
            return self._set(DOWN, reason="not a standby (promoted?)")
        self._measure(started, primary_lsn, standby)
        if self._generations is not None and primary_lsn is not None:
            for generation in self._generation_keys:
                self._generations.seed(generation, self.primary_position)
        self.replayed_lsn = standby.replayed
        lag = time.monotonic() - self._caught_up_at if self._caught_up_at is not None \
            else float("inf")
        self.lag_seconds = lag
        metrics.READ_REPLICA_LAG.set(lag if lag != float("inf") else -1)
        if lag > self.max_lag_seconds:
            return self._set(LAGGING, reason=f"lag above {self.max_lag_seconds:g} s")
        return self._set(UP, reason="caught up")

    def _measure(self, started: float, primary_lsn: int | None,
                 standby: queries.StandbyPosition) -> None:
        """Move `_caught_up_at` to the latest check time whose primary position the standby
        has replayed."""
        replayed_lsn = standby.replayed or 0
        if primary_lsn is None:  # the primary is unreachable: judge by what the standby has
            if standby.received is not None and replayed_lsn >= standby.received:
                self._caught_up_at = started
            return
        self._pending.append((started, primary_lsn))
        while self._pending and self._pending[0][1] <= replayed_lsn:
            self._caught_up_at = self._pending.popleft()[0]

    def _set(self, state: str, *, reason: str) -> str:
        with self._lock:
            previous, self.state, self._reason = self.state, state, reason
        if state != previous:
            if state == UP:
                log.info("read_replica_up", previous=previous, lag_seconds=round(self.lag_seconds, 3))
            elif state == LAGGING:
                log.warning("read_replica_lagging", lag_seconds=round(self.lag_seconds, 3),
                            max_lag_seconds=self.max_lag_seconds)
            else:
                log.warning("read_replica_down", reason=reason)
        if state == DOWN:
            self.lag_seconds = float("inf")
            metrics.READ_REPLICA_LAG.set(-1)
        return state

    def start(self) -> None:
        """Check once now, then every `check_seconds` in a daemon thread (both untraced: no
        request, and traced they would export an orphan trace per check)."""
        with suppress_instrumentation():
            self.check()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="read-replica-monitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with suppress_instrumentation():
            while not self._stopping.wait(self.check_seconds):
                try:
                    self.check()
                except Exception:  # the monitor must outlive any surprise
                    log.exception("read_replica_check_failed")

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def dispose(self) -> None:
        """Stop the monitor and close the replica's connections (not the primary's)."""
        self.stop()
        self.replica.dispose()

