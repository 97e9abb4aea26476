"""The production split of database roles on the embedded PostgreSQL (development and tests).

`hotgigs_migrate` owns the database, its schema and every table (the migrations run as it);
`hotgigs`, the application's role, may only SELECT, INSERT, UPDATE and DELETE rows and use the
sequences, through default privileges that new tables follow. It cannot CREATE, ALTER, DROP
or TRUNCATE, nor make temporary tables. Ansible's postgresql role sets up the same on a data
host (README "Database roles"). Trust authentication on loopback: no passwords here.
"""

from __future__ import annotations

from typing import Final

import psycopg
from psycopg import sql

MIGRATION_ROLE: Final = "hotgigs_migrate"
APP_ROLE: Final = "hotgigs"

# Objects of a database made before the split (the superuser owned them) move to the owner.
# Sequences owned by a column move with their table; ALTER TABLE serves every relation kind.
_TRANSFER_OWNERSHIP: Final = """
DO $$
DECLARE item record;
BEGIN
  FOR item IN
    SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       AND c.relowner <> '{owner}'::regrole
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
  LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO {owner}', item.name);
  END LOOP;
  FOR item IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' AND p.proowner <> '{owner}'::regrole
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO {owner}', item.name);
  END LOOP;
END $$
"""

_APP_PRIVILEGES: Final = (
    "ALTER SCHEMA public OWNER TO {owner}",
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
    "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE ON SEQUENCES TO {app}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
    "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {app}",
)


def _connect(port: int, database: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname={database}",
                           autocommit=True)


def create_roles(port: int) -> None:
    """Create both login roles on the server once (no attribute beyond LOGIN)."""
    with _connect(port, "postgres") as conn:
        for role in (MIGRATION_ROLE, APP_ROLE):
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))


def split(port: int, database: str) -> None:
    """Give `database` (existing, possibly used before) the two roles' split: the migration
    role owns it and everything in it; the app role gets row rights, now and for new tables."""
    create_roles(port)
    names = {"owner": sql.Identifier(MIGRATION_ROLE), "app": sql.Identifier(APP_ROLE),
             "db": sql.Identifier(database)}
    with _connect(port, "postgres") as conn:
        for statement in ("ALTER DATABASE {db} OWNER TO {owner}",
                          "REVOKE ALL ON DATABASE {db} FROM PUBLIC",
                          "GRANT CONNECT ON DATABASE {db} TO {app}"):
            conn.execute(sql.SQL(statement).format(**names))
    with _connect(port, database) as conn:
        conn.execute(sql.SQL(_TRANSFER_OWNERSHIP.replace("{owner}", MIGRATION_ROLE)))
        for statement in _APP_PRIVILEGES:
            conn.execute(sql.SQL(statement).format(**names))


def url(port: int, database: str, role: str) -> str:
    """The SQLAlchemy URL of `database` as `role`."""
    return f"postgresql+psycopg://{role}@127.0.0.1:{port}/{database}"
