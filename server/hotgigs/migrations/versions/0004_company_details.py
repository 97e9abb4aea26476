"""Company details the companies module serves: founding year and logo.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("companies", sa.Column("founded_year", sa.Integer(), nullable=True))
    op.add_column("companies", sa.Column("logo_url", sa.String(500), nullable=True))
    op.create_check_constraint(op.f("ck_companies_founded_year_range"), "companies",
                               "founded_year BETWEEN 1800 AND 2100")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_companies_founded_year_range"), "companies", type_="check")
    op.drop_column("companies", "logo_url")
    op.drop_column("companies", "founded_year")
