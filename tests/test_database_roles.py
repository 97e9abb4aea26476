"""Least-privilege database roles (issue 14, item 4), on the real embedded PostgreSQL.

The suite's databases are reached as the application's role (tests/support/servers.py), as
production's workers reach theirs: every other test proves the role has the rights the app
needs; these prove it has no others, that tables made later follow, and that `make run`'s
embedded database gets the same split."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from hotgigs import migrate
from hotgigs.dev import database_roles, stack
from hotgigs.dev.embedded import EmbeddedPostgres
from tests.support.servers import make_settings, new_database, new_migrated_database, schema_owner_url

DDL = {
    "create table": "CREATE TABLE intruder (id int)",
    "create temporary table": "CREATE TEMPORARY TABLE intruder (id int)",
    "create schema": "CREATE SCHEMA intruder",
    "create function": "CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "alter table": "ALTER TABLE jobs ADD COLUMN intruder int",
    "create index": "CREATE INDEX intruder ON jobs (title)",
    "drop table": "DROP TABLE jobs",
    "truncate": "TRUNCATE jobs",
    "drop database": "DROP DATABASE IF EXISTS postgres",
}


def _connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    parts = make_url(url)
    return psycopg.connect(host=parts.host, port=parts.port, user=parts.username,
                           dbname=parts.database, autocommit=True)


@pytest.mark.parametrize("statement", DDL.values(), ids=DDL.keys())
def test_the_app_role_cannot_change_the_schema(migrated_database_url: str, statement: str) -> None:
    assert make_url(migrated_database_url).username == database_roles.APP_ROLE
    with _connect(migrated_database_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_tables_belong_to_the_migration_role(migrated_database_url: str) -> None:
    with _connect(migrated_database_url) as conn:
        owners = conn.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
                              ).fetchall()
        rights = conn.execute("SELECT has_table_privilege('jobs', 'SELECT, INSERT, UPDATE, DELETE'), "
                              "has_table_privilege('jobs', 'TRUNCATE'), "
                              "has_table_privilege('jobs', 'REFERENCES, TRIGGER')").fetchone()
    assert owners == [(database_roles.MIGRATION_ROLE,)]
    assert rights == (True, False, False)


def test_a_table_a_later_migration_creates_is_usable_by_the_app(embedded_postgres: EmbeddedPostgres) -> None:
    """Default privileges: rows and sequences of a new table, without a GRANT in the migration."""
    app_url = new_migrated_database(embedded_postgres)
    owner_url = schema_owner_url(app_url)
    with _connect(owner_url) as conn:
        conn.execute("CREATE TABLE later_table (id bigserial PRIMARY KEY, note text)")
    with _connect(app_url) as conn:
        row = conn.execute("INSERT INTO later_table (note) VALUES ('x') RETURNING id").fetchone()
        conn.execute("UPDATE later_table SET note = 'y'")
        conn.execute("DELETE FROM later_table")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE later_table")
    assert row == (1,)


def test_a_database_from_before_the_split_is_taken_over(embedded_postgres: EmbeddedPostgres) -> None:
    """A developer's var/ database, migrated as the superuser before the split: its tables,
    sequences and functions move to the migration role, which can migrate it further."""
    name = make_url(new_database(embedded_postgres)).database
    assert name is not None
    migrate.upgrade(embedded_postgres.url_for(name))  # as postgres, the way it was
    database_roles.split(embedded_postgres.port, name)
    owner_url = database_roles.url(embedded_postgres.port, name, database_roles.MIGRATION_ROLE)
    with _connect(owner_url) as conn:
        foreign = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relowner <> current_user::regrole").fetchone()
    assert foreign == (0,)
    migrate.downgrade(owner_url, "-1")  # DDL on the taken-over tables works as their owner
    migrate.upgrade(owner_url)
    app_url = database_roles.url(embedded_postgres.port, name, database_roles.APP_ROLE)
    with _connect(app_url) as conn:
        assert conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("TRUNCATE jobs")


def test_make_run_uses_the_same_split(tmp_path: Path) -> None:
    """`hotgigs up`'s embedded PostgreSQL: the workers get the app role, migrations the owner."""
    settings = make_settings(tmp_path, database_url=None, redis_url=None)
    with stack.dependencies(settings) as deps:
        assert make_url(deps.database_url).username == database_roles.APP_ROLE
        assert make_url(deps.schema_owner_url).username == database_roles.MIGRATION_ROLE
        migrate.upgrade(deps.schema_owner_url)
        with _connect(deps.database_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE jobs ADD COLUMN intruder int")
