"""The Redis client shared by caching, rate limits and token revocation."""

from __future__ import annotations

import time

import redis

from hotgigs.settings import Settings


class Cache:
    """A pooled Redis client with short timeouts, so a dead Redis fails fast instead of hanging."""

    def __init__(self, url: str, *, timeout_seconds: float = 1.0) -> None:
        self.client: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds,
            health_check_interval=30,
        )

    @classmethod
    def from_settings(cls, settings: Settings, url: str) -> Cache:
        del settings  # reserved for future cache settings
        return cls(url)

    def ping(self) -> float:
        """PING Redis; return the round trip in milliseconds (raises when Redis is down)."""
        started = time.perf_counter()
        self.client.ping()
        return (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self.client.close()
