"""The PostgreSQL connection pool and the one place transactions commit (`session_scope`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import psycopg
import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from hotgigs import context as request_context
from hotgigs.errors import DeadlineExceeded, DomainError, Unavailable
from hotgigs.models import sealed
from hotgigs.security.encryption import KeyRing
from hotgigs.settings import Settings

log = structlog.get_logger(__name__)

T = TypeVar("T")


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain `postgresql://` / `postgres://` URLs (Supabase gives those)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


#: What runs a Core statement: a hot read's pooled connection (`Database.read_connection`) or
#: a session (`Database.session_scope`). Queries that return rows, not entities, take either.
Reader = sa.Connection | Session
#: What runs a write's Core statements: its session, or the session's connection
#: (`session.connection()`: the same transaction without the ORM's per-statement execute path,
#: for the hot writes, which hold no entities).
Writer = sa.Connection | Session



def any_id(name: str) -> sa.ColumnElement[Any]:
    """`column == any_id("ids")`: a bound list of integers as ONE array parameter
    (`= ANY(%(ids)s)`), so the statement's SQL is the same whatever the list's length: an
    expanding IN renders a placeholder per value on every execution (it was a sixth of a
    worker's samples for an application's notification with many recipients)."""
    return sa.any_(sa.bindparam(name, type_=ARRAY(sa.Integer)))


AFTER_COMMIT = "hotgigs_after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction has committed (never on rollback): for
    effects outside the database, such as publishing a live event."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


def run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(AFTER_COMMIT, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("after_commit_callback_failed")


_OPERATIONS = ("SELECT", "INSERT", "UPDATE", "DELETE")


def _time_queries(engine: sa.Engine) -> None:
    """Observe every statement's duration in hotgigs_db_query_seconds{operation}."""
    from hotgigs.telemetry import metrics

    @sa.event.listens_for(engine, "before_cursor_execute")
    def start(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info.setdefault("hotgigs_query_started", []).append(time.perf_counter())

    @sa.event.listens_for(engine, "after_cursor_execute")
    def stop(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started = conn.info["hotgigs_query_started"].pop()
        word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        operation = word if word in _OPERATIONS else "OTHER"
        metrics.DB_QUERY_SECONDS.labels(operation).observe(time.perf_counter() - started)


def _follow_deadlines(engine: sa.Engine) -> None:
    """Tie SQL to the RPC that runs it: nothing starts once the caller's deadline has passed,
    and the statement in flight is known, so `cancel_running_query` can stop it when the
    caller gives up (deadline, client gone)."""

    def check_deadline() -> request_context.RequestContext | None:
        state = request_context.current()
        remaining = None if state is None else state.time_remaining()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded("The request's deadline passed before the query could run")
        return state

    @sa.event.listens_for(engine, "before_cursor_execute")
    def started(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        state = check_deadline()
        if state is not None:
            state.running_query = conn.connection.dbapi_connection

    @sa.event.listens_for(engine, "after_cursor_execute")
    def finished(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        state = request_context.current()
        if state is not None:
            state.running_query = None

    @sa.event.listens_for(engine, "handle_error")
    def failed(exception_context: Any) -> None:
        state = request_context.current()
        if state is not None:
            state.running_query = None


def cancel_running_query(state: request_context.RequestContext) -> None:
    """Ask PostgreSQL to cancel the statement the RPC of `state` is running, if any (called
    from gRPC's thread when the RPC ends; a finished handler runs none)."""
    connection = state.running_query
    if connection is None:
        return
    try:
        connection.cancel_safe(timeout=2.0)
        log.info("query_cancelled", request_id=state.request_id, rpc=state.method)
    except Exception:
        log.warning("query_cancel_failed", request_id=state.request_id, exc_info=True)


def database_error(error: BaseException) -> DomainError | None:
    """The caller-facing error for a database failure that is not a bug: PostgreSQL down,
    restarting or unreachable (Unavailable: 503 with Retry-After, fail fast instead of a 500),
    or a statement cancelled because the caller's deadline passed (DeadlineExceeded)."""
    if isinstance(error, sa.exc.DBAPIError):
        if isinstance(error.orig, psycopg.errors.QueryCanceled):
            return DeadlineExceeded("The query was cancelled: the request's deadline passed")
        if isinstance(error.orig, psycopg.OperationalError | psycopg.InterfaceError) \
                or error.connection_invalidated:
            return Unavailable("The database is unavailable; retry shortly",
                               retry_after_seconds=1, reason="DATABASE_UNAVAILABLE")
    if isinstance(error, sa.exc.TimeoutError):  # no pooled connection became free in time
        return Unavailable("The database is busy; retry shortly", retry_after_seconds=1,
                           reason="DATABASE_BUSY")
    return None


# A pooled connection back from a request less than this long ago is used without a ping.
PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED_AT = "hotgigs_returned_at"


def _ping_idle_connections(engine: sa.Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Pessimistic disconnect handling, cheaper than `pool_pre_ping`: only a connection that sat
    in the pool for `idle_seconds` or more is pinged (`SELECT 1`) before use, and replaced when
    the ping fails. Under load connections come back within milliseconds, so the round trip
    pool_pre_ping spent on every checkout (about 14 % of a worker's samples for an uncached
    search) is saved; a database restart while they were in use still ends their requests with
    503 and invalidates the pool, as before."""

    @sa.event.listens_for(engine, "connect")
    def connected(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @sa.event.listens_for(engine, "checkin")
    def returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if time.monotonic() - record.info.get(_RETURNED_AT, 0.0) < idle_seconds:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            # End the transaction SELECT 1 opened: a read_connection() checkout switches the
            # connection to autocommit next, which psycopg refuses inside a transaction.
            dbapi_connection.rollback()
        except psycopg.Error as error:  # the pool discards it and checks out another
            raise sa.exc.DisconnectionError(f"stale pooled connection: {error}") from error


#: Execution option of a statement whose best plan depends on its values (public job search:
#: a common word walks an index in order and stops after the page, a rare one uses the text
#: index): it is sent unprepared, so PostgreSQL plans every execution for its values. Without
#: it psycopg prepares a statement at its fifth execution on a connection, and PostgreSQL may
#: then settle on one generic plan for every value (seen: a search count went from about 50 to
#: 300-500 ms on 1,000,000 jobs).
PLAN_EACH_EXECUTION = "hotgigs_plan_each_execution"


def _plan_marked_statements_each_time(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "do_execute")
    def execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
        if context.execution_options.get(PLAN_EACH_EXECUTION):
            cursor.execute(statement, parameters, prepare=False)
            return True
        return None


_READ_STATEMENTS = ("SELECT", "WITH", "EXPLAIN", "SHOW", "VALUES")


class ReadOnlyConnectionError(RuntimeError):
    """A write was attempted through `Database.read_connection()` (a bug in the caller)."""


def _refuse_writes(engine: sa.Engine) -> None:
    """Only queries pass through `engine`: any other SQL (Core DML, text, driver SQL) raises
    ReadOnlyConnectionError before it is sent."""

    @sa.event.listens_for(engine, "before_cursor_execute")
    def check(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if (statement.split(None, 1) or [""])[0].upper() not in _READ_STATEMENTS:
            raise ReadOnlyConnectionError("read_connection() runs queries only; write in "
                                          "session_scope()")


class Reads(Protocol):
    """Where read-only work that may be served by a read replica runs: the primary `Database`
    itself, or `hotgigs.replica.router.ReadReplica` when DATABASE_REPLICA_URL is set. `work`
    may run twice (on the primary after the replica failed), so it only reads."""

    def read(self, work: Callable[[sa.Connection], T]) -> T: ...

    def read_session(self, work: Callable[[Session], T]) -> T: ...


class Database:
    """A pooled engine plus a session factory."""

    def __init__(self, url: str, *, pool_size: int = 15, max_overflow: int = 0,
                 connect_timeout: int = 3,
                 ping_after_idle_seconds: float = PING_AFTER_IDLE_SECONDS,
                 keyring: KeyRing | None = None) -> None:
        self.engine = sa.create_engine(
            normalise_database_url(url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            # Most recently returned connection first: under light or bursty load requests keep
            # reusing the few warm connections (no ping: they idled under a second) while the
            # others stay idle; first in, first out handed out the longest-idle one each time,
            # so nearly every checkout paid `_ping_idle_connections`' round trips.
            pool_use_lifo=True,
            pool_recycle=1800,
            connect_args={"connect_timeout": connect_timeout, "application_name": "hotgigs"},
        )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        _refuse_writes(self._reader)
        _ping_idle_connections(self.engine, ping_after_idle_seconds)
        _plan_marked_statements_each_time(self.engine)
        _follow_deadlines(self.engine)  # first: a statement it refuses is never timed
        _time_queries(self.engine)
        self._keyring = keyring
        if keyring is not None:
            sealed.attach(self.engine, keyring)

    def ensure_keyring(self, keyring: KeyRing) -> None:
        """Use `keyring` unless this handle was built with keys of its own."""
        if self._keyring is None:
            self._keyring = keyring
            sealed.attach(self.engine, keyring)

    @property
    def keyring(self) -> KeyRing:
        """The encryption keys of this database's documents and sealed columns."""
        if self._keyring is None:
            raise sealed.MissingKeys("this database handle was built without encryption keys")
        return self._keyring

    @classmethod
    def from_settings(cls, settings: Settings, url: str) -> Database:
        return cls(url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow,
                   connect_timeout=settings.db_connect_timeout_seconds,
                   keyring=KeyRing(settings.encryption_keks))

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error, except a
        domain error marked `after_commit()`, whose changes are committed before it travels on."""
        session = self._sessions()
        try:
            yield session
            session.commit()
            run_after_commit(session)
        except DomainError as error:
            if error.keep_changes:
                session.commit()
                run_after_commit(session)
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_connection(self) -> Iterator[sa.Connection]:
        """One pooled connection for the hot reads (STYLE.md, "Hot reads"): Core
        statements built once, rows as named tuples, no Session, no identity map. Every
        statement runs on its own in autocommit mode, which saves the BEGIN and COMMIT round
        trips a `session_scope` spends; a write raises ReadOnlyConnectionError before anything
        is sent."""
        with self._reader.connect() as connection:
            yield connection

    def read(self, work: Callable[[sa.Connection], T]) -> T:
        """`work` on a `read_connection()` (the `Reads` of a process without a read replica)."""
        with self.read_connection() as connection:
            return work(connection)

    def read_session(self, work: Callable[[Session], T]) -> T:
        """`work` on a `session_scope()` (the `Reads` of a process without a read replica)."""
        with self.session_scope() as session:
            return work(session)

    def ping(self) -> float:
        """Run `SELECT 1`; return the round trip in milliseconds (raises when the database is down)."""
        started = time.perf_counter()
        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return (time.perf_counter() - started) * 1000

    def dispose(self) -> None:
        self.engine.dispose()
