"""pg_stat_statements in the performance answers (issue 20, item 4), on a PostgreSQL of the
test's own: not installed, installed but not loaded (the answer says why), then loaded with
`shared_preload_libraries` (the slowest statements are listed, the jobs filter holds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from hotgigs.context import Principal
from hotgigs.db import Database
from hotgigs.dev.embedded import EmbeddedPostgres
from hotgigs.errors import PermissionDenied
from hotgigs.operations import service

ADMIN = Principal(user_id=1, role="admin", session_id="s", token_id="t")


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(Path(tmp_path_factory.mktemp("statements")) / "postgres")
    server.start()
    yield server
    server.stop("immediate")


def _superuser(server: EmbeddedPostgres, database: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname={database}",
                           autocommit=True)


def _performance(database: Database, limit: int = 10) -> service.Performance:
    with database.read_connection() as connection:
        return service.get_performance(connection, actor=ADMIN, database=database,
                                       performance_in=service.PerformanceIn(limit=limit))


def _jobs_performance(database: Database) -> service.JobsPerformance:
    with database.read_connection() as connection:
        return service.get_jobs_performance(connection, actor=ADMIN, database=database,
                                            performance_in=service.PerformanceIn())


def test_from_not_installed_to_loaded(own_postgres: EmbeddedPostgres) -> None:
    url = own_postgres.create_database("statements")
    with _superuser(own_postgres, "statements") as conn:
        conn.execute("CREATE TABLE jobs (id int PRIMARY KEY, title text)")
        conn.execute("CREATE INDEX idx_jobs_title ON jobs (title)")
    database = Database(url)
    try:
        missing = _performance(database).statements
        assert (missing.available, missing.slowest) == (False, [])
        assert missing.note == service.NOT_INSTALLED

        with _superuser(own_postgres, "statements") as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        unloaded = _performance(database).statements
        assert unloaded.available is False
        assert unloaded.note.startswith("pg_stat_statements is installed but cannot be read: ")
        assert "shared_preload_libraries" in unloaded.note
        assert len(unloaded.note) <= service.NOTE_MAX
    finally:
        database.dispose()

    with _superuser(own_postgres) as conn:
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
    own_postgres.stop("fast")
    own_postgres.start()
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            for _ in range(3):
                connection.execute(sa.text("SELECT pg_sleep(0.05)"))
            connection.execute(sa.text("SELECT count(*) FROM jobs WHERE title = :t"), {"t": "x"})
        loaded = _performance(database, limit=2).statements
        assert loaded.available is True and loaded.note == ""
        assert len(loaded.slowest) == 2
        slowest = loaded.slowest[0]
        assert "pg_sleep" in slowest.query and slowest.calls == 3 and slowest.mean_ms >= 45
        assert loaded.total_calls >= 4

        jobs = _jobs_performance(database)
        assert jobs.statements.available
        assert jobs.statements.slowest, "the statement on the jobs table is listed"
        assert all("jobs" in row.query for row in jobs.statements.slowest)
        assert [row.name for row in jobs.indexes] == ["idx_jobs_title", "jobs_pkey"] or \
            {row.name for row in jobs.indexes} == {"idx_jobs_title", "jobs_pkey"}
    finally:
        database.dispose()


def test_only_admins_get_figures(own_postgres: EmbeddedPostgres) -> None:
    """The service refuses non-admins itself too (the policy table refuses them first)."""
    database = Database(own_postgres.url)
    try:
        with database.read_connection() as connection, pytest.raises(PermissionDenied):
            service.get_performance(connection, actor=Principal(2, "company", "s", "t"),
                                    database=database, performance_in=service.PerformanceIn())
    finally:
        database.dispose()
