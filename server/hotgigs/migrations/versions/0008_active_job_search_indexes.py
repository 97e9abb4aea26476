"""Partial search indexes over active jobs, built CONCURRENTLY.

Public job search only ever reads active jobs. With whole-table GIN indexes PostgreSQL ANDed
a third bitmap, `status = 'active'` from idx_jobs_search (about 63,000 entries of 100,000), into
every full-text + location search; partial indexes `WHERE status = 'active'` leave it out and
halve the query's database time (EXPLAIN ANALYZE on 100k seeded jobs: 8.6 -> 5.9 ms,
14.7 -> 5.7 ms, 24.5 -> 15.5 ms). The whole-table indexes stay for other readers.

Built with CREATE INDEX CONCURRENTLY, so a live jobs table keeps taking writes, and safe to
re-run: an index a failed concurrent build left INVALID is dropped and built again (IF NOT
EXISTS alone would keep the broken one). env.py's lock_timeout applies.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_jobs_active_search_vector": "search_vector",
    "ix_jobs_active_location_trgm": "lower(location) gin_trgm_ops",
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
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON jobs USING gin ({key}) "
                       "WHERE status = 'active'")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
