"""Fixed-window rate limits in Redis (shared by all workers), with a per-process fallback.

Each class of RPC has limits such as 100/minute and 1000/hour. A call counts against every
window of its class; the first window over its limit answers with the seconds until it ends.
When Redis is down the limiter FAILS OPEN TO A LOCAL LIMITER: the same windows are counted in
this process's memory, so one worker still enforces the limits (N workers together allow up to
N times the limit) and the service keeps answering.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Sequence

import redis
import structlog

from hotgigs.cache import Cache

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class Limit:
    """At most `requests` calls per `window_seconds`."""

    requests: int
    window_seconds: int


@dataclasses.dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: int = 0
    limit: Limit | None = None


class _LocalWindows:
    """In-memory fixed windows for when Redis is unreachable."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, window end)
        self._lock = threading.Lock()

    def incr(self, key: str, window_end: float, now: float) -> int:
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            count = self._counts.get(key, (0, window_end))[0] + 1
            self._counts[key] = (count, window_end)
            return count


class RateLimiter:
    """Counts calls per (class, identity) against the class's limits."""

    def __init__(self, cache: Cache, limits: dict[str, Sequence[Limit]],
                 clock: Callable[[], float] = time.time) -> None:
        self.cache = cache
        self.limits = limits
        self.clock = clock
        self._local = _LocalWindows()

    def _keys(self, rate_class: str, identity: str, now: float) -> list[tuple[Limit, str, int]]:
        keys = []
        for limit in self.limits[rate_class]:
            bucket = int(now // limit.window_seconds)
            keys.append((limit, f"hg:rl:{rate_class}:{identity}:{limit.window_seconds}:{bucket}",
                         bucket))
        return keys

    def hit(self, rate_class: str, identity: str) -> Decision:
        """Count one call; say whether it may proceed and, if not, when to retry."""
        now = self.clock()
        keys = self._keys(rate_class, identity, now)
        try:
            pipe = self.cache.client.pipeline(transaction=False)
            for limit, key, _ in keys:  # SET NX + INCR: works on Redis 6 (no EXPIRE NX there)
                pipe.set(key, 0, ex=limit.window_seconds + 1, nx=True)
                pipe.incr(key)
            counts = [int(value) for value in pipe.execute()[1::2]]
        except redis.RedisError:
            log.warning("rate_limit_local_fallback")
            counts = [self._local.incr(key, (bucket + 1) * limit.window_seconds, now)
                      for limit, key, bucket in keys]
        for (limit, _, bucket), count in zip(keys, counts, strict=True):
            if count > limit.requests:
                window_end = (bucket + 1) * limit.window_seconds
                return Decision(False, max(1, math.ceil(window_end - now)), limit)
        return Decision(True)
