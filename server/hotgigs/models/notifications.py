"""In-app notifications and each user's delivery preferences (notifications module)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from sqlalchemy import Boolean, ForeignKey, Index, String, false, text, true
from sqlalchemy.orm import Mapped, mapped_column

from hotgigs.models.base import (
    Base,
    check_in,
    created_at_column,
    id_column,
    updated_at_column,
)

#: `notifications.notification_type` (and the values of `muted_types`).
NOTIFICATION_TYPES: Final = (
    "info",
    "success",
    "warning",
    "error",
    "job_alert",
    "application_update",
    "message",
)
#: `notifications.priority`.
NOTIFICATION_FREQUENCIES: Final = ("immediate", "daily", "weekly")
NOTIFICATION_PRIORITIES: Final = ("low", "normal", "high", "urgent")


class Notification(Base):
    """A message shown to one user; unread while `read_at` is NULL."""

    __tablename__ = "notifications"
    __table_args__ = (
        check_in("notification_type", NOTIFICATION_TYPES),
        check_in("priority", NOTIFICATION_PRIORITIES),
        Index(None, "user_id", "created_at"),
        # Unread counts and "unread only" listings touch unread rows only.
        Index(
            "ix_notifications_user_id_unread",
            "user_id",
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    notification_type: Mapped[str] = mapped_column(String(30), server_default=text("'info'"))
    priority: Mapped[str] = mapped_column(String(10), server_default=text("'normal'"))
    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str]
    data: Mapped[dict[str, Any] | None]
    read_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = created_at_column()


class NotificationPreference(Base):
    """How a user wants to be told: channels on or off, and notification types muted."""

    __tablename__ = "notification_preferences"
    __table_args__ = (check_in("frequency", NOTIFICATION_FREQUENCIES),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    email_enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())
    in_app_enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())
    muted_types: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    marketing: Mapped[bool] = mapped_column(Boolean, server_default=false())
    frequency: Mapped[str] = mapped_column(String(20), server_default=text("'immediate'"))
    updated_at: Mapped[dt.datetime] = updated_at_column()


__all__ = [
    "NOTIFICATION_FREQUENCIES",
    "NOTIFICATION_PRIORITIES",
    "NOTIFICATION_TYPES",
    "Notification",
    "NotificationPreference",
]
