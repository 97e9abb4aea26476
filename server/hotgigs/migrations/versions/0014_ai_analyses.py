"""Stored AI analyses for GET /api/ai/feedback (issue 20, item 2).

A new table only; releases before this one never read it, so a rollback keeps working (the
history is then neither written nor shown).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_analyses",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("analysis_type", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("inputs", postgresql.JSONB(), nullable=False),
        sa.Column("results", postgresql.JSONB(), nullable=False),
        sa.CheckConstraint("analysis_type IN ('match_jobs', 'analyze_resume')",
                           name=op.f("ck_ai_analyses_analysis_type")),
        sa.CheckConstraint("octet_length(inputs::text) + octet_length(results::text) <= 8192",
                           name=op.f("ck_ai_analyses_record_size")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_ai_analyses_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_analyses")),
    )
    op.create_index(op.f("ix_ai_analyses_user_id_id"), "ai_analyses", ["user_id", "id"])


def downgrade() -> None:
    op.drop_table("ai_analyses")
