"""Deactivating a user revokes its sessions, whoever does it (the service, an operator's SQL).

Access-token checks read users.is_active and auth_sessions.revoked_at (PostgreSQL is the
truth, cached per worker for at most AUTH_USER_STATE_TTL_SECONDS). A deleted user's sessions go
with it (ON DELETE CASCADE); this trigger makes deactivation as final, so re-activating an
account does not bring its old tokens back. Compatible with the previous release: it only
writes revoked_at, which that release already honours.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION hotgigs_revoke_sessions_of_deactivated_user() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE auth_sessions SET revoked_at = now(), revoked_reason = 'account_deactivated'
            WHERE user_id = NEW.id AND revoked_at IS NULL;
            RETURN NEW;
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER users_deactivated_revoke_sessions
        AFTER UPDATE OF is_active ON users
        FOR EACH ROW WHEN (OLD.is_active AND NOT NEW.is_active)
        EXECUTE FUNCTION hotgigs_revoke_sessions_of_deactivated_user()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER users_deactivated_revoke_sessions ON users")
    op.execute("DROP FUNCTION hotgigs_revoke_sessions_of_deactivated_user()")
