"""Every SQL statement of the notifications module; nothing here commits."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import Notification, NotificationPreference


@dataclasses.dataclass(frozen=True)
class Filter:
    """Which of one user's notifications a list shows."""

    user_id: int
    unread_only: bool = False
    notification_type: str | None = None

    def where(self) -> list[sa.ColumnElement[bool]]:
        where = [Notification.user_id == self.user_id]
        if self.unread_only:
            where.append(Notification.read_at.is_(None))
        if self.notification_type is not None:
            where.append(Notification.notification_type == self.notification_type)
        return where


def page(session: Session, where: Filter, *, limit: int, offset: int
         ) -> tuple[list[Notification], int]:
    """One page, newest first, and the true total."""
    total = session.scalar(sa.select(sa.func.count()).select_from(Notification)
                           .where(*where.where()))
    rows = list(session.scalars(sa.select(Notification).where(*where.where())
                                .order_by(Notification.created_at.desc(), Notification.id.desc())
                                .limit(limit).offset(offset)))
    return rows, int(total or 0)


def unread_count(session: Session, user_id: int) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)


def preferences_of(session: Session, user_ids: Iterable[int]) -> dict[int, NotificationPreference]:
    ids = sorted(set(user_ids))
    return {row.user_id: row for row in session.scalars(
        sa.select(NotificationPreference).where(NotificationPreference.user_id.in_(ids)))}


def mark_all_read(session: Session, user_id: int, at: dt.datetime) -> int:
    result = session.execute(sa.update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)).values(read_at=at))
    return int(getattr(result, "rowcount", 0) or 0)


def delete_all(session: Session, user_id: int) -> int:
    result = session.execute(sa.delete(Notification).where(Notification.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def counts_by_type(session: Session, user_id: int) -> list[tuple[str, int, int]]:
    """(type, total, read) per notification type of one user."""
    rows = session.execute(sa.select(Notification.notification_type, sa.func.count(),
                                     sa.func.count(Notification.read_at))
                           .where(Notification.user_id == user_id)
                           .group_by(Notification.notification_type)).all()
    return [(str(row[0]), int(row[1]), int(row[2])) for row in rows]
