"""Document description and updated_at (the API's Document message).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("description", sa.Text(), nullable=True))
    op.add_column("documents", sa.Column("updated_at", sa.DateTime(timezone=True),
                                         server_default=sa.text("now()"), nullable=False))


def downgrade() -> None:
    op.drop_column("documents", "updated_at")
    op.drop_column("documents", "description")
