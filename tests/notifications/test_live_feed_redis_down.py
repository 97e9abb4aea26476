"""A live event published while Redis is down is skipped with a warning, never an error (the
notification itself is already stored)."""

from __future__ import annotations

from hotgigs.cache import Cache
from hotgigs.dev.embedded import free_port
from hotgigs.notifications import live


def test_publish_with_redis_down_only_warns() -> None:
    dead = Cache(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2)
    try:
        live.LiveFeed(dead).publish(1, "created", 2)  # the log call itself once raised TypeError
    finally:
        dead.close()
