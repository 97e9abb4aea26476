"""`hotgigs.v1.NotificationService`: protobuf in, notifications service, protobuf out."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from hotgigs import context as request_context
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.errors import Unauthenticated, Unavailable
from hotgigs.notifications import convert, live, service, tickets
from hotgigs.security.access import AccessState
from hotgigs.v1 import common_pb2, notifications_pb2, notifications_pb2_grpc

HEARTBEAT_SECONDS = 30.0
POLL_SECONDS = 0.5


class NotificationServicer(notifications_pb2_grpc.NotificationServiceServicer):
    """Thin transport layer over `hotgigs.notifications.service`."""

    def __init__(self, database: Database, access: AccessState | None = None) -> None:
        self.database = database
        self.access = access

    def ListNotifications(self, request: notifications_pb2.ListNotificationsRequest,
                          context: grpc.ServicerContext
                          ) -> notifications_pb2.ListNotificationsResponse:
        list_in = convert.list_in(request)
        with self.database.read_connection() as connection:
            page = service.list_notifications(connection, actor=caller(), list_in=list_in)
        return notifications_pb2.ListNotificationsResponse(
            notifications=[convert.notification_to_proto(r) for r in page.items],
            unread_count=page.unread,
            pagination=common_pb2.OffsetPagination(limit=page.limit, offset=page.offset,
                                                    total=page.total))

    def CreateNotification(self, request: notifications_pb2.CreateNotificationRequest,
                           context: grpc.ServicerContext
                           ) -> notifications_pb2.CreateNotificationResponse:
        notification_in = convert.notification_in(request)
        with self.database.session_scope() as session:
            row = service.create(session, actor=caller(), notification_in=notification_in)
            return notifications_pb2.CreateNotificationResponse(
                message="Notification created", notification=convert.notification_to_proto(row))

    def GetNotification(self, request: notifications_pb2.GetNotificationRequest,
                        context: grpc.ServicerContext) -> notifications_pb2.GetNotificationResponse:
        with self.database.session_scope() as session:
            row = service.get(session, actor=caller(), notification_id=request.id)
            return notifications_pb2.GetNotificationResponse(
                notification=convert.notification_to_proto(row))

    def UpdateNotification(self, request: notifications_pb2.UpdateNotificationRequest,
                           context: grpc.ServicerContext
                           ) -> notifications_pb2.UpdateNotificationResponse:
        is_read = request.is_read if request.HasField("is_read") else True
        with self.database.session_scope() as session:
            row = service.update(session, actor=caller(), notification_id=request.id,
                                 is_read=is_read)
            return notifications_pb2.UpdateNotificationResponse(
                message="Notification updated", notification=convert.notification_to_proto(row))

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
            preferences = service.get_preferences(session, actor=caller())
        return notifications_pb2.GetNotificationPreferencesResponse(
            preferences=convert.preferences_to_proto(preferences))

    def UpdateNotificationPreferences(
            self, request: notifications_pb2.UpdateNotificationPreferencesRequest,
            context: grpc.ServicerContext
    ) -> notifications_pb2.UpdateNotificationPreferencesResponse:
        preferences_in = convert.preferences_in(request)
        with self.database.session_scope() as session:
            preferences = service.update_preferences(session, actor=caller(),
                                                     preferences_in=preferences_in)
        return notifications_pb2.UpdateNotificationPreferencesResponse(
            message="Preferences updated", preferences=convert.preferences_to_proto(preferences))

    def ListNotificationTypes(self, request: notifications_pb2.ListNotificationTypesRequest,
                              context: grpc.ServicerContext
                              ) -> notifications_pb2.ListNotificationTypesResponse:
        return convert.vocabularies()

    def GetNotificationStats(self, request: notifications_pb2.GetNotificationStatsRequest,
                             context: grpc.ServicerContext
                             ) -> notifications_pb2.GetNotificationStatsResponse:
        with self.database.session_scope() as session:
            stats = service.stats(session, actor=caller())
        return notifications_pb2.GetNotificationStatsResponse(statistics=convert.stats_to_proto(stats))

    def StreamNotifications(self, request: notifications_pb2.StreamNotificationsRequest,
                            context: grpc.ServicerContext
                            ) -> Iterator[notifications_pb2.StreamNotificationsResponse]:
        """A heartbeat with the unread count first, then one message per event. The caller is
        the bearer token's user or, without a token, the one-time ticket's."""
        feed = live.feed()
        if request_context.principal() is None:
            self._redeem(request.ticket, feed)
        actor = caller()
        if feed is None:
            raise Unavailable("The live feed is not available", retry_after_seconds=30)

        def unread() -> int:
            with self.database.session_scope() as session:
                return service.unread_count(session, actor=actor)

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
                row = service.find(session, actor=actor, notification_id=number)
                if row is not None and kind != "deleted":
                    response.notification.CopyFrom(convert.notification_to_proto(row))
                else:
                    response.notification.id = number
                response.unread_count = service.unread_count(session, actor=actor)
            yield response

    def CreateStreamTicket(self, request: notifications_pb2.CreateStreamTicketRequest,
                           context: grpc.ServicerContext
                           ) -> notifications_pb2.CreateStreamTicketResponse:
        feed = live.feed()
        if feed is None:
            raise Unavailable("The live feed is not available", retry_after_seconds=30)
        ticket = tickets.issue(feed.client, caller())
        return notifications_pb2.CreateStreamTicketResponse(ticket=ticket,
                                                            expires_in=tickets.TTL_SECONDS)

    def _redeem(self, ticket: str, feed: live.LiveFeed | None) -> None:
        """Sign the call in with a one-time ticket (the auth interceptor let it through
        without a token), or refuse it: 401, a plain JSON answer, so EventSource stops."""
        if not ticket:
            raise Unauthenticated("Sign in first: send Authorization: Bearer <access token>"
                                  " or a ticket from POST /api/notifications/stream-ticket",
                                  reason="TOKEN_MISSING")
        principal = None if feed is None else tickets.redeem(feed.client, ticket)
        if principal is None:
            raise Unauthenticated("The ticket is invalid, expired or already used",
                                  reason="TICKET_INVALID")
        if self.access is not None:
            self.access.check(principal.user_id, principal.session_id)
        state = request_context.current()
        if state is not None:
            state.principal = principal


def build(components: Components) -> NotificationServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return NotificationServicer(components.database, components.security.access)
