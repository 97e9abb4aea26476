"""Auth sessions (refresh-token families with idle timeout and revocation); `skipped` mail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

- `auth_sessions`: one row per login; access tokens carry its id, so revoking the row revokes
  every token of the session (logout, password change, refresh-token re-use).
- `outbox_emails.status` may be `skipped`: mail that was not sent because no SMTP server is
  configured (logged, never an error for the user).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(50), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_auth_sessions_user_id_users")),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"])
    op.create_index("ix_auth_sessions_revoked", "auth_sessions", ["expires_at"],
                    postgresql_where=sa.text("revoked_at IS NOT NULL"))
    op.drop_constraint(op.f("ck_outbox_emails_status"), "outbox_emails", type_="check")
    op.create_check_constraint(op.f("ck_outbox_emails_status"), "outbox_emails",
                               "status IN ('pending', 'sent', 'failed', 'skipped')")


def downgrade() -> None:
    op.execute("UPDATE outbox_emails SET status = 'failed' WHERE status = 'skipped'")
    op.drop_constraint(op.f("ck_outbox_emails_status"), "outbox_emails", type_="check")
    op.create_check_constraint(op.f("ck_outbox_emails_status"), "outbox_emails",
                               "status IN ('pending', 'sent', 'failed')")
    op.drop_index("ix_auth_sessions_revoked", table_name="auth_sessions")
    op.drop_index(op.f("ix_auth_sessions_user_id"), table_name="auth_sessions")
    op.drop_table("auth_sessions")
