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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import structlog
from sqlalchemy.orm import Session

from hotgigs.context import Principal
from hotgigs.core import limits, pagination
from hotgigs.db import Reader, after_commit
from hotgigs.errors import NotFound
from hotgigs.mail import outbox
from hotgigs.models import (
    NOTIFICATION_FREQUENCIES,
    NOTIFICATION_PRIORITIES,
    NOTIFICATION_TYPES,
    Notification,
    NotificationPreference,
)
from hotgigs.notifications import live, queries
from hotgigs.users import service as users_service
from hotgigs.validation import Validator

log = structlog.get_logger(__name__)

# Preference switch -> the notification type it mutes.
CATEGORY_TYPES = {"job_alerts": "job_alert", "application_updates": "application_update",
                  "messages": "message"}


@dataclasses.dataclass(frozen=True)
class Preferences:
    email_notifications: bool = True
    push_notifications: bool = True
    job_alerts: bool = True
    application_updates: bool = True
    messages: bool = True
    marketing: bool = False
    frequency: str = "immediate"


@dataclasses.dataclass(frozen=True, kw_only=True)
class PreferencesIn:
    """The switches to change; None leaves one as it is."""

    email_notifications: bool | None = None
    push_notifications: bool | None = None
    job_alerts: bool | None = None
    application_updates: bool | None = None
    messages: bool | None = None
    marketing: bool | None = None
    frequency: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ListIn:
    """A page of the caller's notifications."""

    limit: int | None = None
    offset: int = 0
    unread_only: bool = False
    notification_type: str = ""


@dataclasses.dataclass(frozen=True)
class Page:
    items: Sequence[Any]  # rows with the notification's columns
    total: int
    limit: int
    offset: int
    unread: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class NotificationIn:
    """A notification an admin sends to one user."""

    recipient_id: int
    title: str
    message: str
    notification_type: str = ""
    action_url: str = ""
    priority: str = ""


@dataclasses.dataclass(frozen=True)
class Stats:
    total: int
    unread: int
    by_type: dict[str, int]


def _from_row(row: NotificationPreference | Any | None) -> Preferences:
    """An entity or a row of the preferences' columns (None: the defaults)."""
    if row is None:
        return Preferences()
    muted = set(row.muted_types or [])
    return Preferences(email_notifications=row.email_enabled,
                       push_notifications=row.in_app_enabled,
                       job_alerts="job_alert" not in muted,
                       application_updates="application_update" not in muted,
                       messages="message" not in muted, marketing=row.marketing,
                       frequency=row.frequency)


def get_preferences(session: Session, *, actor: Principal) -> Preferences:
    return _from_row(session.get(NotificationPreference, actor.user_id))


def update_preferences(session: Session, *, actor: Principal, preferences_in: PreferencesIn
                       ) -> Preferences:
    check = Validator()
    frequency = check.choice("frequency", preferences_in.frequency, NOTIFICATION_FREQUENCIES)
    check.check("Preferences are invalid")
    row = session.get(NotificationPreference, actor.user_id, with_for_update=True)
    if row is None:
        row = NotificationPreference(user_id=actor.user_id, email_enabled=True,
                                     in_app_enabled=True, muted_types=[], marketing=False,
                                     frequency="immediate")
        session.add(row)
    if preferences_in.email_notifications is not None:
        row.email_enabled = preferences_in.email_notifications
    if preferences_in.push_notifications is not None:
        row.in_app_enabled = preferences_in.push_notifications
    if preferences_in.marketing is not None:
        row.marketing = preferences_in.marketing
    if frequency is not None:
        row.frequency = frequency
    muted = set(row.muted_types or [])
    for switch, kind in CATEGORY_TYPES.items():
        wanted = getattr(preferences_in, switch)
        if wanted is not None:
            (muted.discard if wanted else muted.add)(kind)
    row.muted_types = sorted(muted)
    session.flush()
    return _from_row(row)


def notify(session: Session, *, user_ids: Iterable[int], notification_type: str, title: str,
           message: str, action_url: str = "", sender_id: int | None = None,
           priority: str = "normal", contacts: Mapping[int, Any] | None = None) -> list[Any]:
    """Create notifications in the caller's transaction (the event's own), mail them through
    the outbox where wanted, and publish them live once the transaction commits. Returns the
    new notifications as rows of their columns (no entities: Core statements, one for all
    the notifications and one for all the mail, whatever the number of recipients).
    `contacts`: the recipients' `users.service.contacts_by_id` rows when the caller has
    already read them in this transaction (saves reading them again)."""
    recipients = sorted(set(user_ids) - ({sender_id} if sender_id else set()))
    if not recipients:
        return []
    # Core statements on the session's connection (same transaction, no ORM execute path);
    # what the session has pending is written first, as its autoflush would.
    session.flush()
    connection = session.connection()
    users = contacts if contacts is not None \
        else users_service.contacts_by_id(connection, user_ids=recipients)
    rows = queries.preferences_of(connection, recipients)
    wanted: list[dict[str, Any]] = []
    letters: list[outbox.Letter] = []
    pushed: set[int] = set()
    for user_id in recipients:
        user = users.get(user_id)
        if user is None or not user.is_active:
            continue
        preferences = _from_row(rows.get(user_id))
        muted = {kind for switch, kind in CATEGORY_TYPES.items()
                 if not getattr(preferences, switch)}
        if notification_type in muted:
            continue
        wanted.append({"user_id": user_id, "notification_type": notification_type,
                       "priority": priority, "title": title, "message": message,
                       "data": {"action_url": action_url, "sender_id": sender_id}})
        if preferences.email_notifications:
            letters.append(outbox.letter(
                to=user.email, subject=f"HotGigs: {title}", kind="notification",
                body=f"Hello {user.first_name},\n\n{message}\n"
                     + (f"\n{action_url}\n" if action_url else "")))
        if preferences.push_notifications:
            pushed.add(user_id)
    created = queries.insert_notifications(connection, wanted)
    outbox.enqueue_all(connection, letters)
    for row in created:
        if row.user_id in pushed:
            after_commit(session, functools.partial(live.publish, row.user_id, "created", row.id))
    log.info("notifications_created", count=len(created), notification_type=notification_type)
    return created


def unread_count(reader: Reader, *, actor: Principal) -> int:
    return queries.unread_count(reader, actor.user_id)


def list_notifications(reader: Reader, *, actor: Principal, list_in: ListIn) -> Page:
    """A page of the caller's notifications (a hot read: rows, on a read connection)."""
    check = Validator()
    size = pagination.limit(check, list_in.limit)
    offset = pagination.offset(check, list_in.offset)
    kind = check.choice("type", list_in.notification_type or None, NOTIFICATION_TYPES)
    check.check("List parameters are invalid")
    rows, total = queries.page(reader, queries.Filter(actor.user_id, list_in.unread_only, kind),
                               limit=size, offset=offset)
    return Page(rows, total, size, offset, queries.unread_count(reader, actor.user_id))


def get(session: Session, *, actor: Principal, notification_id: int) -> Notification:
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != actor.user_id:
        raise NotFound(f"Notification {notification_id} not found",
                       reason="NOTIFICATION_NOT_FOUND")
    return row


def find(session: Session, *, actor: Principal, notification_id: int) -> Notification | None:
    """The caller's notification, or None (gone, or another user's): for the live feed."""
    row = session.get(Notification, notification_id)
    return row if row is not None and row.user_id == actor.user_id else None


def update(session: Session, *, actor: Principal, notification_id: int, is_read: bool
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
    return queries.mark_all_read(session, actor.user_id, dt.datetime.now(dt.UTC))


def clear_all(session: Session, *, actor: Principal) -> int:
    return queries.delete_all(session, actor.user_id)


def stats(session: Session, *, actor: Principal) -> Stats:
    rows = queries.counts_by_type(session, actor.user_id)
    total = sum(count for _, count, _ in rows)
    read = sum(read for _, _, read in rows)
    return Stats(total, total - read, {kind: count for kind, count, _ in rows})


def create(session: Session, *, actor: Principal, notification_in: NotificationIn) -> Any:
    """An admin's notification to one user (muted kinds are refused, not dropped)."""
    check = Validator()
    heading = check.text("title", notification_in.title, max_length=limits.NOTIFICATION_TITLE,
                         required=True)
    body = check.text("message", notification_in.message, max_length=limits.TEXT, required=True,
                      multiline=True)
    kind = check.choice("notification_type", notification_in.notification_type or "info",
                        NOTIFICATION_TYPES)
    level = check.choice("priority", notification_in.priority or "normal", NOTIFICATION_PRIORITIES)
    action_url = notification_in.action_url
    link = check.url("action_url", action_url) if action_url.startswith("http") else \
        check.text("action_url", action_url, max_length=limits.URL)
    check.check("Notification is invalid")
    if not users_service.user_exists(session, user_id=notification_in.recipient_id):
        raise NotFound("No such recipient", reason="USER_NOT_FOUND")
    created = notify(session, user_ids=[notification_in.recipient_id],
                     notification_type=kind or "info", title=heading or "", message=body or "",
                     action_url=link or "", sender_id=actor.user_id, priority=level or "normal")
    if not created:
        raise NotFound("The recipient has muted this kind of notification",
                       reason="MUTED_BY_RECIPIENT")
    return created[0]  # a row of every column, server defaults included
