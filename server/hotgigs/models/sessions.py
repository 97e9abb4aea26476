"""Login sessions: one per login, the family of its rotated refresh tokens.

Access tokens carry the session id (`sid`); revoking a session (logout, password change,
refresh-token re-use) makes every token of it useless at once. `last_used_at` moves on every
refresh; a session idle for longer than the idle timeout can no longer refresh.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hotgigs.models.base import Base, created_at_column


class AuthSession(Base):
    """One signed-in session of a user."""

    __tablename__ = "auth_sessions"
    __table_args__ = (
        Index(None, "user_id"),
        Index("ix_auth_sessions_revoked", "expires_at", postgresql_where=text("revoked_at IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = created_at_column()
    last_used_at: Mapped[dt.datetime] = created_at_column()
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(50))


__all__ = ["AuthSession"]
