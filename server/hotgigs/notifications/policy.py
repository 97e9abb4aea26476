"""The RPCs of `hotgigs.v1.NotificationService`: who may call each (`hotgigs.core.rpc`), which
creates are idempotent, and which answer other than 200 over REST."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import ADMIN, PROBE, PUBLIC, Policy, Rpc, created, no_keys, roles, signed_in

SERVICE: Final = "NotificationService"
RPCS: Final = {
    "ListNotifications": Rpc(signed_in("own notifications")),
    "CreateNotification": created(roles(ADMIN)),
    "GetNotification": Rpc(signed_in("recipient")),
    "UpdateNotification": Rpc(signed_in("recipient")),
    "DeleteNotification": Rpc(signed_in("recipient")),
    "MarkAllNotificationsRead": Rpc(signed_in("own notifications")),
    "ClearAllNotifications": Rpc(signed_in("own notifications")),
    "GetNotificationPreferences": Rpc(signed_in("own preferences")),
    "UpdateNotificationPreferences": Rpc(signed_in("own preferences")),
    "ListNotificationTypes": Rpc(PUBLIC),
    "GetNotificationStats": Rpc(signed_in("own notifications")),
    # Open without a token so a browser's EventSource can present a one-time ticket instead;
    # the servicer refuses a call with neither (401). A bearer token is verified as anywhere.
    "StreamNotifications": Rpc(Policy(public=True, scope="own notifications (token or ticket)")),
    # Tickets are for browser sessions; an API-key client sends its key to the feed itself.
    "CreateStreamTicket": Rpc(no_keys(signed_in("own notifications"))),
    # grpc.health.v1 status of this service: answered by the health module.
    "GetNotificationsHealth": Rpc(PROBE, served_by="health"),
}
