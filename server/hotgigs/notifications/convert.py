"""Notifications and preferences as protobuf messages: pure functions."""

from __future__ import annotations

from typing import Any

from hotgigs.core.protos import optional, timestamp
from hotgigs.models import NOTIFICATION_PRIORITIES, NOTIFICATION_TYPES, Notification
from hotgigs.notifications.service import ListIn, NotificationIn, Preferences, PreferencesIn, Stats
from hotgigs.v1 import common_pb2, notifications_pb2

_PREFERENCE_FIELDS = tuple(notifications_pb2.NotificationPreferences.DESCRIPTOR.fields_by_name)


def notification_to_proto(row: Notification | Any) -> notifications_pb2.Notification:
    """An entity, or a row of the notification's columns (the list's hot read)."""
    data: dict[str, Any] = row.data or {}
    message = notifications_pb2.Notification(
        id=row.id, user_id=row.user_id, title=row.title, message=row.message,
        notification_type=row.notification_type, priority=row.priority,
        action_url=str(data.get("action_url") or ""), is_read=row.read_at is not None,
        read_at=timestamp(row.read_at), created_at=timestamp(row.created_at),
        updated_at=timestamp(row.read_at or row.created_at))
    if data.get("sender_id"):
        message.sender_id = int(data["sender_id"])
    return message


def preferences_to_proto(preferences: Preferences) -> notifications_pb2.NotificationPreferences:
    return notifications_pb2.NotificationPreferences(
        **{field: getattr(preferences, field) for field in _PREFERENCE_FIELDS})


def preferences_in(request: notifications_pb2.UpdateNotificationPreferencesRequest) -> PreferencesIn:
    """The switches the request sets (unset ones stay as they are)."""
    return PreferencesIn(**{field: getattr(request, field) if request.HasField(field) else None
                            for field in _PREFERENCE_FIELDS})


def stats_to_proto(stats: Stats) -> notifications_pb2.NotificationStats:
    return notifications_pb2.NotificationStats(
        total_notifications=stats.total, unread_notifications=stats.unread,
        read_notifications=stats.total - stats.unread, by_type=stats.by_type)


def vocabularies() -> notifications_pb2.ListNotificationTypesResponse:
    return notifications_pb2.ListNotificationTypesResponse(
        notification_types=[common_pb2.VocabularyEntry(value=t, label=t.replace("_", " ").title())
                            for t in NOTIFICATION_TYPES],
        priorities=[common_pb2.VocabularyEntry(value=p, label=p.title())
                    for p in NOTIFICATION_PRIORITIES])


def list_in(request: notifications_pb2.ListNotificationsRequest) -> ListIn:
    return ListIn(limit=optional(request, "limit"), offset=request.offset,
                  unread_only=request.unread_only, notification_type=request.type)


def notification_in(request: notifications_pb2.CreateNotificationRequest) -> NotificationIn:
    return NotificationIn(recipient_id=request.recipient_id, title=request.title,
                          message=request.message, notification_type=request.notification_type,
                          action_url=request.action_url, priority=request.priority)
