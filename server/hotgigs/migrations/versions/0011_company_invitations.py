"""Company invitations: membership only after the invited user accepts (issue 12, item 14).

A new table only; releases before this one never read it, so a rollback keeps working (their
`POST /api/companies/{id}/members` adds members directly again).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "company_invitations",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(255), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(email IS NULL) <> (user_id IS NULL)",
                           name=op.f("ck_company_invitations_email_or_user")),
        sa.CheckConstraint("role IN ('admin', 'recruiter', 'member')",
                           name=op.f("ck_company_invitations_role")),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], ondelete="CASCADE",
                                name=op.f("fk_company_invitations_company_id_companies")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_company_invitations_user_id_users")),
        sa.ForeignKeyConstraint(["invited_by"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_company_invitations_invited_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_invitations")),
        sa.UniqueConstraint("company_id", "email",
                            name=op.f("uq_company_invitations_company_id_email")),
        sa.UniqueConstraint("company_id", "user_id",
                            name=op.f("uq_company_invitations_company_id_user_id")),
    )
    for column in ("email", "user_id", "invited_by"):
        op.create_index(op.f(f"ix_company_invitations_{column}"), "company_invitations",
                        [column])


def downgrade() -> None:
    op.drop_table("company_invitations")
