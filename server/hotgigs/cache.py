"""The Redis clients shared by caching, rate limits, sign-in throttling and idempotency.

Two uses, two instances in production (README "Redis: what may be evicted"): `client`, the
cache instance (maxmemory with an LRU policy: the answer cache, rate-limit windows and the live
feed's pub/sub may be evicted or lost), and `state`, a `noeviction` instance with AOF
(`appendfsync everysec`) for what must never be evicted: idempotency records (an evicted one
would let a retried create run twice) and sign-in throttling (an evicted count would reset a
block). With only CACHE_REDIS_URL set, both are the same server.
"""

from __future__ import annotations

import time

import redis

from hotgigs.settings import Settings


def _client(url: str, timeout_seconds: float) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=timeout_seconds,
                                socket_connect_timeout=timeout_seconds, health_check_interval=30)


class Cache:
    """Pooled Redis clients with short timeouts, so a dead Redis fails fast instead of hanging."""

    def __init__(self, url: str, *, state_url: str | None = None, timeout_seconds: float = 1.0) -> None:
        self.client: redis.Redis = _client(url, timeout_seconds)
        self.state: redis.Redis = (_client(state_url, timeout_seconds)
                                   if state_url and state_url != url else self.client)

    @classmethod
    def from_settings(cls, settings: Settings, url: str, state_url: str | None = None) -> Cache:
        del settings  # reserved for future cache settings
        return cls(url, state_url=state_url)

    def ping(self) -> float:
        """PING both instances; the round trips in milliseconds (raises when one is down)."""
        started = time.perf_counter()
        self.client.ping()
        if self.state is not self.client:
            self.state.ping()
        return (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self.client.close()
        if self.state is not self.client:
            self.state.close()
