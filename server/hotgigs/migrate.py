"""Run the Alembic migrations of HotGigs from code, without an alembic.ini on disk.

    from hotgigs import migrate
    migrate.upgrade(database_url)              # to the newest revision
    migrate.current(database_url)              # "0001", or None for an empty database
    migrate.unknown_revision(database_url)     # the revision when a newer release migrated it
    migrate.downgrade(database_url, "base")    # drop everything the migrations created

The migration scripts live in `hotgigs/migrations/` inside the package, found from this
file's location, so the same calls work from a checkout, an installed wheel or any current
directory. `alembic -c <ini>` with `script_location = hotgigs:migrations` works as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.pool import NullPool

from hotgigs.db import normalise_database_url

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic `Config` for `database_url`, built in memory.

    `script_location` is the package's `migrations` folder. `sqlalchemy.url` is the given URL
    (plain `postgresql://` / `postgres://` ones get the psycopg 3 driver) with `%` doubled:
    Alembic's config is a ConfigParser that interpolates `%`, and a URL-encoded password
    may well contain one.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalise_database_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at `database_url` up to `revision` (default: the newest)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database at `database_url` down to `revision` (`"base"` undoes them all)."""
    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str) -> str | None:
    """The revision the database is at, or None when no migration has run on it."""
    engine = sa.create_engine(normalise_database_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def unknown_revision(database_url: str) -> str | None:
    """The database's revision when this release's scripts do not know it (a newer release
    migrated it: this is a rollback to an older release), else None."""
    revision = current(database_url)
    if revision is None:
        return None
    try:
        ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(revision)
    except CommandError:
        return revision
    return None


def head() -> str | None:
    """The newest revision among the migration scripts."""
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
