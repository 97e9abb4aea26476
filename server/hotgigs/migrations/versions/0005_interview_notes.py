"""Interview notes on applications (the API's `interview_notes`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("job_applications", sa.Column("interview_notes", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("job_applications", "interview_notes")
