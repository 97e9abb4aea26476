"""Notification preferences: marketing opt-in and e-mail frequency.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("notification_preferences", sa.Column("marketing", sa.Boolean(),
                                                        server_default=sa.false(), nullable=False))
    op.add_column("notification_preferences", sa.Column(
        "frequency", sa.String(20), server_default=sa.text("'immediate'"), nullable=False))
    op.create_check_constraint(op.f("ck_notification_preferences_frequency"),
                               "notification_preferences",
                               "frequency IN ('immediate', 'daily', 'weekly')")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_notification_preferences_frequency"), "notification_preferences",
                       type_="check")
    op.drop_column("notification_preferences", "frequency")
    op.drop_column("notification_preferences", "marketing")
