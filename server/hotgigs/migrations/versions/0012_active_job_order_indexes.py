"""Partial b-tree indexes over active jobs in public search's sort orders, built CONCURRENTLY.

A search page no longer counts every match (issue 17, item 5), so PostgreSQL may stop after the
page: for a common word it walks active jobs newest first (created_at, id) and checks the
full-text filter on each, for a rare one it keeps the GIN index and sorts the few matches; its
statistics choose. The salary sort gets the same in its key, coalesce(salary_max, salary_min,
-1), id. EXPLAIN ANALYZE on 1,000,000 seeded jobs: figures in the commit and `make bench`.

Built like 0008: CREATE INDEX CONCURRENTLY (a live jobs table keeps taking writes), safe to
re-run (an index a failed concurrent build left INVALID is dropped and built again).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_jobs_active_created_at": "created_at, id",
    "ix_jobs_active_salary": "(coalesce(salary_max, salary_min, -1)), id",
}


def _drop_if_invalid(name: str) -> None:
    invalid = op.get_bind().execute(sa.text(
        "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = :name AND c.relnamespace = current_schema()::regnamespace"),
        {"name": name}).scalar_one_or_none()
    if invalid:
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, key in INDEXES.items():
            _drop_if_invalid(name)
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON jobs ({key}) "
                       "WHERE status = 'active'")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
