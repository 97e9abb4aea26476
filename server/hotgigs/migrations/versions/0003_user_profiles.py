"""Profile fields the users module serves: bio, location and links on every account; title,
company, relocation and currency on candidate profiles; achievements and skills on work
experience; GPA and achievements on education; updated_at on both histories.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _user_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("profile_image_url", sa.String(500), nullable=True),
        sa.Column("linkedin_url", sa.String(500), nullable=True),
        sa.Column("github_url", sa.String(500), nullable=True),
        sa.Column("portfolio_url", sa.String(500), nullable=True),
    ]


def _text_array(name: str) -> sa.Column[list[str]]:
    return sa.Column(name, postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"),
                     nullable=False)


def _updated_at() -> sa.Column[object]:
    return sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)


def upgrade() -> None:
    for column in _user_columns():
        op.add_column("users", column)
    op.add_column("candidate_profiles", sa.Column("current_title", sa.String(200), nullable=True))
    op.add_column("candidate_profiles", sa.Column("current_company", sa.String(200), nullable=True))
    op.add_column("candidate_profiles", sa.Column("willing_to_relocate", sa.Boolean(),
                                                  server_default=sa.false(), nullable=False))
    op.add_column("candidate_profiles", sa.Column("currency", sa.String(3),
                                                  server_default=sa.text("'USD'"), nullable=False))
    op.create_check_constraint(op.f("ck_candidate_profiles_currency"), "candidate_profiles",
                               "currency IN ('USD', 'EUR', 'GBP', 'CAD', 'AUD')")
    op.add_column("experiences", _text_array("achievements"))
    op.add_column("experiences", _text_array("skills_used"))
    op.add_column("experiences", _updated_at())
    op.add_column("educations", sa.Column("gpa", sa.Numeric(4, 2), nullable=True))
    op.create_check_constraint(op.f("ck_educations_gpa_range"), "educations",
                               "gpa >= 0 AND gpa <= 10")
    op.add_column("educations", _text_array("achievements"))
    op.add_column("educations", _updated_at())


def downgrade() -> None:
    op.drop_column("educations", "updated_at")
    op.drop_column("educations", "achievements")
    op.drop_constraint(op.f("ck_educations_gpa_range"), "educations", type_="check")
    op.drop_column("educations", "gpa")
    op.drop_column("experiences", "updated_at")
    op.drop_column("experiences", "skills_used")
    op.drop_column("experiences", "achievements")
    op.drop_constraint(op.f("ck_candidate_profiles_currency"), "candidate_profiles", type_="check")
    for name in ("currency", "willing_to_relocate", "current_company", "current_title"):
        op.drop_column("candidate_profiles", name)
    for column in reversed(_user_columns()):
        op.drop_column("users", column.name)
