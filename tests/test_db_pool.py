"""The pool's disconnect handling: a pooled connection the server ended while it sat idle is
replaced before use when it idled long enough to be pinged."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.settings import Settings


def _backend_pid(database: Database) -> int:
    with database.session_scope() as session:
        return int(session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            pass  # the backend is gone once it leaves pg_stat_activity


def test_an_idle_connection_the_server_ended_is_replaced_unseen(migrated_database_url: str) -> None:
    database = Database(migrated_database_url, pool_size=1, max_overflow=0, ping_after_idle_seconds=0.0)
    try:
        first = _backend_pid(database)
        _terminate(migrated_database_url, first)
        assert _backend_pid(database) != first
    finally:
        database.dispose()


def test_a_recently_used_connection_is_not_pinged(migrated_database_url: str) -> None:
    """The counterpart: within the idle window no ping runs, so the ended connection's failure
    reaches the caller (mapped to 503 by the server), and the pool recovers right after."""
    database = Database(migrated_database_url, pool_size=1, max_overflow=0,
                        ping_after_idle_seconds=3600.0)
    try:
        first = _backend_pid(database)
        _terminate(migrated_database_url, first)
        with pytest.raises(sa.exc.OperationalError):
            _backend_pid(database)
        assert _backend_pid(database) != first
    finally:
        database.dispose()


def test_read_connection_runs_each_statement_on_its_own(database: Database) -> None:
    """No transaction around a read connection: two statements get two transaction start
    times; inside session_scope they share one."""
    query = sa.text("SELECT now(), pg_sleep(0.01)")
    with database.read_connection() as connection:
        first, second = (connection.execute(query).one()[0] for _ in range(2))
    assert first != second
    with database.session_scope() as session:
        first, second = (session.execute(query).one()[0] for _ in range(2))
    assert first == second


def test_read_connection_refuses_writes_and_writes_nothing(database: Database) -> None:
    from hotgigs.db import ReadOnlyConnectionError
    from hotgigs.models import User

    email = "read-connection-write@example.com"
    user = {"email": email, "password_hash": "x", "first_name": "R", "last_name": "O",
            "user_type": "candidate"}
    with database.read_connection() as connection:
        with pytest.raises(ReadOnlyConnectionError):
            connection.execute(sa.insert(User).values(**user))
        with pytest.raises(ReadOnlyConnectionError):
            connection.execute(sa.text("DELETE FROM users WHERE email = :e"), {"e": email})
        with pytest.raises(ReadOnlyConnectionError):
            connection.exec_driver_sql("INSERT INTO users (email) VALUES (%(e)s)", {"e": email})
        assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
    with database.session_scope() as session:
        assert session.scalar(sa.select(User.id).where(User.email == email)) is None


def test_a_pinged_connection_serves_both_kinds_of_scope(migrated_database_url: str) -> None:
    """The ping must leave no transaction open: a read scope turns autocommit on right after
    checkout, which psycopg refuses inside one (found by make bench as 500s)."""
    database = Database(migrated_database_url, pool_size=1, max_overflow=0, ping_after_idle_seconds=0.0)
    try:
        for _ in range(2):
            with database.read_connection() as connection:
                assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
            with database.session_scope() as session:
                assert session.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        database.dispose()


def test_the_default_pool_opens_no_connection_per_request_under_every_rpc_thread(
        migrated_database_url: str) -> None:
    """Issue 17: with every RPC thread of a worker (grpc_max_workers) reading at once, the
    default pool serves them from the connections it keeps. With an overflow (10 + 5 before),
    each connection beyond the kept ones was closed when returned and opened again by the next
    request: a new PostgreSQL backend per request, about 1 ms of its CPU each."""
    import threading

    settings = Settings()
    database = Database(migrated_database_url, pool_size=settings.db_pool_size,
                        max_overflow=settings.db_max_overflow, ping_after_idle_seconds=3600.0)
    start = threading.Barrier(settings.grpc_max_workers)
    backends: list[int] = []

    def requests() -> None:
        start.wait(30)
        for _ in range(8):
            with database.read_connection() as connection:
                backends.append(connection.execute(
                    sa.text("SELECT pg_backend_pid() FROM pg_sleep(0.005)")).scalar_one())

    try:
        threads = [threading.Thread(target=requests) for _ in range(settings.grpc_max_workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(backends) == 8 * settings.grpc_max_workers
        assert len(set(backends)) <= settings.db_pool_size, len(set(backends))
    finally:
        database.dispose()


def test_sequential_requests_after_a_burst_reuse_the_last_returned_connection(
        migrated_database_url: str) -> None:
    """Issue 17: the pool hands out the most recently returned connection (LIFO). After a burst
    opened every kept connection, one-at-a-time requests keep reusing one warm connection and
    the others stay idle; first in, first out cycled through all of them, so at light load
    each request got one idle long enough to be pinged (BEGIN, SELECT 1, ROLLBACK)."""
    import threading

    size = 4
    database = Database(migrated_database_url, pool_size=size, max_overflow=0,
                        ping_after_idle_seconds=3600.0)
    held = threading.Barrier(size)
    burst: list[int] = []

    def hold_one() -> None:
        with database.read_connection() as connection:
            burst.append(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
            held.wait(30)  # every thread holds its own connection at once

    try:
        threads = [threading.Thread(target=hold_one) for _ in range(size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(set(burst)) == size
        sequential = []
        for _ in range(2 * size):
            with database.read_connection() as connection:
                sequential.append(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
        assert len(set(sequential)) == 1, sequential
        assert sequential[0] in burst
    finally:
        database.dispose()
