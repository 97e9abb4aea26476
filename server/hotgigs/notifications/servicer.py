"""`hotgigs.v1.NotificationService`: protobuf in, notifications service, protobuf out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc

from hotgigs import context as request_context
from hotgigs.auth.convert import timestamp
from hotgigs.context import require_principal as caller
from hotgigs.db import Database
from hotgigs.errors import Unavailable
from hotgigs.models import NOTIFICATION_PRIORITIES, NOTIFICATION_TYPES, Notification
from hotgigs.notifications import live, service
from hotgigs.security.access import AccessState
from hotgigs.users.convert import set_fields
from hotgigs.v1 import common_pb2, notifications_pb2, notifications_pb2_grpc

HEARTBEAT_SECONDS = 30.0
POLL_SECONDS = 0.5



def notification_to_proto(row: Notification) -> notifications_pb2.Notification:
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


def preferences_to_proto(preferences: service.Preferences
                         ) -> notifications_pb2.NotificationPreferences:
    return notifications_pb2.NotificationPreferences(**{
        field: getattr(preferences, field)
        for field in notifications_pb2.NotificationPreferences.DESCRIPTOR.fields_by_name})


class NotificationServicer(notifications_pb2_grpc.NotificationServiceServicer):
    """Thin transport layer over `hotgigs.notifications.service`."""

    def __init__(self, database: Database, access: AccessState | None = None) -> None:
        self.database = database
        self.access = access

    def ListNotifications(self, request: notifications_pb2.ListNotificationsRequest,
                          context: grpc.ServicerContext
                          ) -> notifications_pb2.ListNotificationsResponse:
        actor = caller()
        with self.database.session_scope() as session:
            rows, total, limit = service.list_mine(
                session, actor=actor, limit=request.limit if request.HasField("limit") else None,
                offset=request.offset, unread_only=request.unread_only, notification_type=request.type)
            return notifications_pb2.ListNotificationsResponse(
                notifications=[notification_to_proto(r) for r in rows],
                unread_count=service.unread_count(session, user_id=actor.user_id),
                pagination=common_pb2.OffsetPagination(limit=limit, offset=request.offset,
                                                        total=total))

    def CreateNotification(self, request: notifications_pb2.CreateNotificationRequest,
                           context: grpc.ServicerContext
                           ) -> notifications_pb2.CreateNotificationResponse:
        with self.database.session_scope() as session:
            row = service.create_by_admin(
                session, actor=caller(), recipient_id=request.recipient_id, title=request.title,
                message=request.message, notification_type=request.notification_type,
                action_url=request.action_url, priority=request.priority)
            session.refresh(row)
            response = notifications_pb2.CreateNotificationResponse(
                message="Notification created", notification=notification_to_proto(row))
        request_context.set_http_status(201)
        return response

    def GetNotification(self, request: notifications_pb2.GetNotificationRequest,
                        context: grpc.ServicerContext) -> notifications_pb2.GetNotificationResponse:
        with self.database.session_scope() as session:
            row = service.get(session, actor=caller(), notification_id=request.id)
            return notifications_pb2.GetNotificationResponse(notification=notification_to_proto(row))

    def UpdateNotification(self, request: notifications_pb2.UpdateNotificationRequest,
                           context: grpc.ServicerContext
                           ) -> notifications_pb2.UpdateNotificationResponse:
        is_read = request.is_read if request.HasField("is_read") else True
        with self.database.session_scope() as session:
            row = service.set_read(session, actor=caller(), notification_id=request.id,
                                   is_read=is_read)
            return notifications_pb2.UpdateNotificationResponse(
                message="Notification updated", notification=notification_to_proto(row))

    def DeleteNotification(self, request: notifications_pb2.DeleteNotificationRequest,
                           context: grpc.ServicerContext
                           ) -> notifications_pb2.DeleteNotificationResponse:
        with self.database.session_scope() as session:
            service.delete(session, actor=caller(), notification_id=request.id)
        return notifications_pb2.DeleteNotificationResponse(message="Notification deleted")

    def MarkAllNotificationsRead(self, request: notifications_pb2.MarkAllNotificationsReadRequest,
                                 context: grpc.ServicerContext
                                 ) -> notifications_pb2.MarkAllNotificationsReadResponse:
        with self.database.session_scope() as session:
            count = service.mark_all_read(session, actor=caller())
        return notifications_pb2.MarkAllNotificationsReadResponse(
            message="All notifications marked as read", updated_count=count)

    def ClearAllNotifications(self, request: notifications_pb2.ClearAllNotificationsRequest,
                              context: grpc.ServicerContext
                              ) -> notifications_pb2.ClearAllNotificationsResponse:
        with self.database.session_scope() as session:
            count = service.clear_all(session, actor=caller())
        return notifications_pb2.ClearAllNotificationsResponse(
            message="All notifications cleared", deleted_count=count)

    def GetNotificationPreferences(
            self, request: notifications_pb2.GetNotificationPreferencesRequest,
            context: grpc.ServicerContext) -> notifications_pb2.GetNotificationPreferencesResponse:
        with self.database.session_scope() as session:
            preferences = service.get_preferences(session, user_id=caller().user_id)
        return notifications_pb2.GetNotificationPreferencesResponse(
            preferences=preferences_to_proto(preferences))

    def UpdateNotificationPreferences(
            self, request: notifications_pb2.UpdateNotificationPreferencesRequest,
            context: grpc.ServicerContext
    ) -> notifications_pb2.UpdateNotificationPreferencesResponse:
        names = tuple(notifications_pb2.UpdateNotificationPreferencesRequest.DESCRIPTOR.fields_by_name)
        with self.database.session_scope() as session:
            preferences = service.update_preferences(session, actor=caller(),
                                                     changes=set_fields(request, names))
        return notifications_pb2.UpdateNotificationPreferencesResponse(
            message="Preferences updated", preferences=preferences_to_proto(preferences))

    def ListNotificationTypes(self, request: notifications_pb2.ListNotificationTypesRequest,
                              context: grpc.ServicerContext
                              ) -> notifications_pb2.ListNotificationTypesResponse:
        return notifications_pb2.ListNotificationTypesResponse(
            notification_types=[common_pb2.VocabularyEntry(value=t, label=t.replace("_", " ").title())
                                for t in NOTIFICATION_TYPES],
            priorities=[common_pb2.VocabularyEntry(value=p, label=p.title())
                        for p in NOTIFICATION_PRIORITIES])

    def GetNotificationStats(self, request: notifications_pb2.GetNotificationStatsRequest,
                             context: grpc.ServicerContext
                             ) -> notifications_pb2.GetNotificationStatsResponse:
        with self.database.session_scope() as session:
            total, unread, by_type = service.stats(session, actor=caller())
        return notifications_pb2.GetNotificationStatsResponse(
            statistics=notifications_pb2.NotificationStats(
                total_notifications=total, unread_notifications=unread,
                read_notifications=total - unread, by_type=by_type))

    def StreamNotifications(self, request: notifications_pb2.StreamNotificationsRequest,
                            context: grpc.ServicerContext
                            ) -> Iterator[notifications_pb2.StreamNotificationsResponse]:
        """A heartbeat with the unread count first, then one message per event."""
        actor = caller()
        feed = live.feed()
        if feed is None:
            raise Unavailable("The live feed is not available", retry_after_seconds=30)

        def unread() -> int:
            with self.database.session_scope() as session:
                return service.unread_count(session, user_id=actor.user_id)

        events = feed.listen(actor.user_id, poll_seconds=POLL_SECONDS)
        next(events)  # subscribe before the first heartbeat, so no event falls in between
        yield notifications_pb2.StreamNotificationsResponse(event="heartbeat",
                                                            unread_count=unread())
        quiet = 0.0
        for event in events:
            if not context.is_active():
                return
            if self.access is not None:  # ends the feed of a signed-out or deactivated user
                self.access.check(actor.user_id, actor.session_id)  # cached <= the bound
            if event is None:
                quiet += POLL_SECONDS
                if quiet >= HEARTBEAT_SECONDS:
                    quiet = 0.0
                    yield notifications_pb2.StreamNotificationsResponse(
                        event="heartbeat", unread_count=unread())
                continue
            quiet = 0.0
            kind, number = str(event["event"]), int(str(event["id"]))
            response = notifications_pb2.StreamNotificationsResponse(event=kind)
            with self.database.session_scope() as session:
                row = session.get(Notification, number)
                if row is not None and row.user_id == actor.user_id and kind != "deleted":
                    response.notification.CopyFrom(notification_to_proto(row))
                else:
                    response.notification.id = number
                response.unread_count = service.unread_count(session, user_id=actor.user_id)
            yield response
