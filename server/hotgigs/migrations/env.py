"""Alembic environment of HotGigs: online mode only, no alembic.ini needed.

`hotgigs.migrate.alembic_config(url)` builds the `Config` in code (script location and
`sqlalchemy.url`); the alembic command line works too with any ini that sets those two.
A caller may hand over an open connection in `config.attributes["connection"]` (then the
caller owns its transaction).

Options read from the main section:
- `sqlalchemy.url`: the database (required unless a connection is handed over);
- `hotgigs.lock_timeout`: PostgreSQL `lock_timeout` while migrating (default `5s`), so a DDL
  statement waiting behind a long transaction fails fast instead of stalling every query
  queued behind its lock request. Retry the migration later when it fails that way.

Autogenerate comparison (`alembic check`, `compare_metadata`) finds no difference between the
models and a database at head, with types and server defaults compared, and needs no
`include_object` filter (tested by tests/test_migrations.py):
- the trigram indexes name their operator class in `postgresql_ops` on a labelled
  `lower(location)`, so Alembic compares the expression instead of warning and skipping;
- the generated `jobs.search_vector` is compared by Alembic with casts removed; a difference
  is only a warning (a generated column cannot be altered), which the tests turn into an error;
- `alembic_version` is left out by Alembic itself; the pg_trgm extension and the search
  helper function are not tables, so reflection never sees them.
What Alembic does not compare (index method, operator classes, partial-index predicates,
CHECK constraint bodies, constraint names) the tests check by building the models with
`create_all` beside the migrated schema and comparing the two in the PostgreSQL catalog.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine, pool, text

from hotgigs.models import Base

config = context.config
target_metadata = Base.metadata


def configure_and_run(connection: Connection) -> None:
    """Run the migrations on `connection` (one transaction for the whole run)."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Connect (or use the handed-over connection) and run the migrations."""
    handed_over: Any = config.attributes.get("connection")
    if isinstance(handed_over, Connection):
        configure_and_run(handed_over)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic: set sqlalchemy.url (use hotgigs.migrate.alembic_config)")
    lock_timeout = config.get_main_option("hotgigs.lock_timeout", "5s")
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(
                text("SELECT set_config('lock_timeout', :value, false)"), {"value": lock_timeout}
            )
            connection.commit()
            configure_and_run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("HotGigs migrations run online only (no --sql mode)")
run_migrations_online()
