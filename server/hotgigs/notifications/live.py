"""The live feed: after a notification's transaction commits, an event is published on the
recipient's Redis channel; every worker's StreamNotifications subscribers receive it.

One process-wide `LiveFeed` is installed by the server at start (`install`); without one
(or with Redis down) live events are skipped and the notifications are still stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import redis
import structlog

from hotgigs.cache import Cache

log = structlog.get_logger(__name__)


def channel(user_id: int) -> str:
    return f"hg:notifications:{user_id}"


class LiveFeed:
    def __init__(self, cache: Cache) -> None:
        self.client = cache.client

    def publish(self, user_id: int, event: str, notification_id: int) -> None:
        try:
            self.client.publish(channel(user_id), json.dumps({"event": event,
                                                              "id": notification_id}))
        except redis.RedisError:
            log.warning("live_event_not_published", kind=event)

    def listen(self, user_id: int, *, poll_seconds: float) -> Iterator[dict[str, object] | None]:
        """Yield None at once when subscribed, then each event for the user, or None after
        `poll_seconds` without one (so the caller can check whether the client is still
        there and send heartbeats)."""
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        pubsub.subscribe(channel(user_id))
        try:
            yield None  # subscribed: nothing published from now on is missed
            while True:
                message = pubsub.get_message(timeout=poll_seconds)
                if message is None or message.get("type") != "message":
                    yield None
                    continue
                yield dict(json.loads(message["data"]))
        finally:
            pubsub.close()


_feed: LiveFeed | None = None


def install(feed: LiveFeed | None) -> None:
    global _feed
    _feed = feed


def publish(user_id: int, event: str, notification_id: int) -> None:
    if _feed is not None:
        _feed.publish(user_id, event, notification_id)


def feed() -> LiveFeed | None:
    return _feed
