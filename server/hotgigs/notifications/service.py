"""Notifications: created by real events in the event's own transaction, honouring each
recipient's preferences; e-mailed through the outbox; published live after commit.

Preferences: `job_alerts`, `application_updates` and `messages` switch those kinds off
entirely (no notification, no mail); `email_notifications` switches mail off; `push_notifications`
switches the live feed off. Defaults: everything on except marketing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from hotgigs.context import Principal
from hotgigs.db import after_commit
from hotgigs.errors import NotFound
from hotgigs.mail import outbox
from hotgigs.models import (
    NOTIFICATION_FREQUENCIES,
    NOTIFICATION_PRIORITIES,
    NOTIFICATION_TYPES,
    Notification,
    NotificationPreference,
    User,
)
from hotgigs.notifications import live
from hotgigs.validation import Validator

log = structlog.get_logger(__name__)

# Preference switch -> the notification type it mutes.
CATEGORY_TYPES = {"job_alerts": "job_alert", "application_updates": "application_update",
                  "messages": "message"}
LIMIT_DEFAULT, LIMIT_MAX = 20, 100


@dataclasses.dataclass(frozen=True)
class Preferences:
    email_notifications: bool = True
    push_notifications: bool = True
    job_alerts: bool = True
    application_updates: bool = True
    messages: bool = True
    marketing: bool = False
    frequency: str = "immediate"


def _from_row(row: NotificationPreference | None) -> Preferences:
    if row is None:
        return Preferences()
    muted = set(row.muted_types or [])
    return Preferences(email_notifications=row.email_enabled,
                       push_notifications=row.in_app_enabled,
                       job_alerts="job_alert" not in muted,
                       application_updates="application_update" not in muted,
                       messages="message" not in muted, marketing=row.marketing,
                       frequency=row.frequency)


def get_preferences(session: Session, *, user_id: int) -> Preferences:
    return _from_row(session.get(NotificationPreference, user_id))


def update_preferences(session: Session, *, actor: Principal, changes: Mapping[str, Any]
                       ) -> Preferences:
    check = Validator()
    frequency = check.choice("frequency", changes.get("frequency"), NOTIFICATION_FREQUENCIES)
    check.check("Preferences are invalid")
    row = session.get(NotificationPreference, actor.user_id, with_for_update=True)
    if row is None:
        row = NotificationPreference(user_id=actor.user_id, email_enabled=True,
                                     in_app_enabled=True, muted_types=[], marketing=False,
                                     frequency="immediate")
        session.add(row)
    if "email_notifications" in changes:
        row.email_enabled = bool(changes["email_notifications"])
    if "push_notifications" in changes:
        row.in_app_enabled = bool(changes["push_notifications"])
    if "marketing" in changes:
        row.marketing = bool(changes["marketing"])
    if frequency is not None:
        row.frequency = frequency
    muted = set(row.muted_types or [])
    for switch, kind in CATEGORY_TYPES.items():
        if switch in changes:
            (muted.discard if changes[switch] else muted.add)(kind)
    row.muted_types = sorted(muted)
    session.flush()
    return _from_row(row)


def notify(session: Session, *, user_ids: Iterable[int], notification_type: str, title: str,
           message: str, action_url: str = "", sender_id: int | None = None,
           priority: str = "normal") -> list[Notification]:
    """Create notifications in the caller's transaction (the event's own), mail them through
    the outbox where wanted, and publish them live once the transaction commits."""
    created: list[Notification] = []
    recipients = sorted(set(user_ids) - ({sender_id} if sender_id else set()))
    if not recipients:
        return created
    users = {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(recipients)))}
    rows = {r.user_id: r for r in session.scalars(
        sa.select(NotificationPreference).where(NotificationPreference.user_id.in_(recipients)))}
    for user_id in recipients:
        user = users.get(user_id)
        if user is None or not user.is_active:
            continue
        preferences = _from_row(rows.get(user_id))
        muted = {kind for switch, kind in CATEGORY_TYPES.items()
                 if not getattr(preferences, switch)}
        if notification_type in muted:
            continue
        notification = Notification(user_id=user_id, notification_type=notification_type,
                                    priority=priority, title=title, message=message,
                                    data={"action_url": action_url, "sender_id": sender_id})
        session.add(notification)
        session.flush()
        created.append(notification)
        if preferences.email_notifications:
            outbox.enqueue(session, to=user.email, subject=f"HotGigs: {title}", kind="notification",
                           body=f"Hello {user.first_name},\n\n{message}\n"
                                + (f"\n{action_url}\n" if action_url else ""))
        if preferences.push_notifications:
            after_commit(session, functools.partial(live.publish, user_id, "created",
                                                    notification.id))
    log.info("notifications_created", count=len(created), notification_type=notification_type)
    return created


def unread_count(session: Session, *, user_id: int) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)


def list_mine(session: Session, *, actor: Principal, limit: int | None, offset: int,
              unread_only: bool, notification_type: str) -> tuple[list[Notification], int, int]:
    check = Validator()
    size = check.number("limit", LIMIT_DEFAULT if limit is None else limit, minimum=1,
                        maximum=LIMIT_MAX) or LIMIT_DEFAULT
    check.number("offset", offset, minimum=0)
    kind = check.choice("type", notification_type or None, NOTIFICATION_TYPES)
    check.check("List parameters are invalid")
    where = [Notification.user_id == actor.user_id]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    if kind is not None:
        where.append(Notification.notification_type == kind)
    total = session.scalar(sa.select(sa.func.count()).select_from(Notification).where(*where))
    rows = list(session.scalars(sa.select(Notification).where(*where)
                                .order_by(Notification.created_at.desc(), Notification.id.desc())
                                .limit(size).offset(offset)))
    return rows, int(total or 0), size


def get(session: Session, *, actor: Principal, notification_id: int) -> Notification:
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != actor.user_id:
        raise NotFound(f"Notification {notification_id} not found",
                       reason="NOTIFICATION_NOT_FOUND")
    return row


def set_read(session: Session, *, actor: Principal, notification_id: int, is_read: bool
             ) -> Notification:
    row = get(session, actor=actor, notification_id=notification_id)
    row.read_at = (row.read_at or dt.datetime.now(dt.UTC)) if is_read else None
    session.flush()
    after_commit(session, lambda: live.publish(actor.user_id, "updated", notification_id))
    return row


def delete(session: Session, *, actor: Principal, notification_id: int) -> None:
    session.delete(get(session, actor=actor, notification_id=notification_id))
    after_commit(session, lambda: live.publish(actor.user_id, "deleted", notification_id))


def mark_all_read(session: Session, *, actor: Principal) -> int:
    result = session.execute(sa.update(Notification).where(
        Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        .values(read_at=dt.datetime.now(dt.UTC)))
    return int(getattr(result, "rowcount", 0) or 0)


def clear_all(session: Session, *, actor: Principal) -> int:
    result = session.execute(sa.delete(Notification).where(Notification.user_id == actor.user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def stats(session: Session, *, actor: Principal) -> tuple[int, int, dict[str, int]]:
    rows = session.execute(sa.select(Notification.notification_type, sa.func.count(),
                                     sa.func.count(Notification.read_at))
                           .where(Notification.user_id == actor.user_id)
                           .group_by(Notification.notification_type)).all()
    total = sum(int(r[1]) for r in rows)
    read = sum(int(r[2]) for r in rows)
    return total, total - read, {str(r[0]): int(r[1]) for r in rows}


def create_by_admin(session: Session, *, actor: Principal, recipient_id: int, title: str,
                    message: str, notification_type: str, action_url: str,
                    priority: str) -> Notification:
    check = Validator()
    heading = check.text("title", title, max_length=200, required=True)
    body = check.text("message", message, max_length=2000, required=True, multiline=True)
    kind = check.choice("notification_type", notification_type or "info", NOTIFICATION_TYPES)
    level = check.choice("priority", priority or "normal", NOTIFICATION_PRIORITIES)
    link = check.url("action_url", action_url) if action_url.startswith("http") else \
        check.text("action_url", action_url, max_length=500)
    check.check("Notification is invalid")
    if session.get(User, recipient_id) is None:
        raise NotFound("No such recipient", reason="USER_NOT_FOUND")
    created = notify(session, user_ids=[recipient_id], notification_type=kind or "info",
                     title=heading or "", message=body or "", action_url=link or "",
                     sender_id=actor.user_id, priority=level or "normal")
    if not created:
        raise NotFound("The recipient has muted this kind of notification",
                       reason="MUTED_BY_RECIPIENT")
    return created[0]
