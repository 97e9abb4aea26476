"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Write migrations by hand (autogenerate output is a draft to review, never the migration):
explicit names for every constraint and index, a `downgrade()` that undoes all of `upgrade()`,
and no imports from `hotgigs.models` (a migration is frozen; the models move on).
On a live database build indexes with `CREATE INDEX CONCURRENTLY` inside
`with op.get_context().autocommit_block():` (env.py sets a lock timeout).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: str | Sequence[str] | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    """Upgrade schema."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Downgrade schema."""
    ${downgrades if downgrades else "pass"}
