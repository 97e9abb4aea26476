"""Every SQL statement of the notifications module; nothing here commits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.db import Reader, Writer, any_id
from hotgigs.models import Notification, NotificationPreference


@dataclasses.dataclass(frozen=True)
class Filter:
    """Which of one user's notifications a list shows."""

    user_id: int
    unread_only: bool = False
    notification_type: str | None = None


# ---- the list: a hot read (STYLE.md, "Hot reads"), statements built once per shape ---------
_NOTIFICATION = Notification.__table__
_N = _NOTIFICATION.c
_UNREAD = (sa.select(sa.func.count()).select_from(_NOTIFICATION)
           .where(_N.user_id == sa.bindparam("user_id", type_=sa.Integer), _N.read_at.is_(None)))


@functools.lru_cache(maxsize=4)
def _list_statements(unread_only: bool, typed: bool) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """(count, page) of a list with or without the unread and type filters."""
    where = [_N.user_id == sa.bindparam("user_id", type_=sa.Integer)]
    if unread_only:
        where.append(_N.read_at.is_(None))
    if typed:
        where.append(_N.notification_type == sa.bindparam("notification_type", type_=sa.String))
    return (sa.select(sa.func.count()).select_from(_NOTIFICATION).where(*where),
            sa.select(_NOTIFICATION).where(*where).order_by(_N.created_at.desc(), _N.id.desc())
            .limit(sa.bindparam("limit", type_=sa.Integer))
            .offset(sa.bindparam("offset", type_=sa.Integer)))


def page(reader: Reader, where: Filter, *, limit: int, offset: int
         ) -> tuple[Sequence[Any], int]:
    """One page, newest first (rows with the notification's columns), and the true total."""
    count, rows = _list_statements(where.unread_only, where.notification_type is not None)
    values = {"user_id": where.user_id, "notification_type": where.notification_type,
              "limit": limit, "offset": offset}
    total = reader.execute(count, values).scalar()
    return reader.execute(rows, values).all(), int(total or 0)


def unread_count(reader: Reader, user_id: int) -> int:
    return int(reader.execute(_UNREAD, {"user_id": user_id}).scalar() or 0)


_TABLE = cast(sa.Table, Notification.__table__)
_INSERT = sa.insert(_TABLE).returning(*_TABLE.c, sort_by_parameter_order=True)


def insert_notifications(writer: Writer, values: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Insert the notifications in one statement (INSERT ... VALUES ..., ... RETURNING); the
    new rows, every column, in the order of `values`."""
    if not values:
        return []
    return list(writer.execute(_INSERT, list(values)))


_PREFERENCES_OF = sa.select(NotificationPreference.__table__).where(
    NotificationPreference.user_id == any_id("user_ids"))


def preferences_of(reader: Reader, user_ids: Iterable[int]) -> dict[int, Any]:
    """Rows of the preferences' columns of those of `user_ids` who set any, by user id."""
    return {row.user_id: row for row in reader.execute(
        _PREFERENCES_OF, {"user_ids": sorted(set(user_ids))})}


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
