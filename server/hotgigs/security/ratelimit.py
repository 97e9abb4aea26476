"""Sliding-window rate limits in Redis (shared by all workers), with a per-process fallback.

Each class of RPC has limits such as 100/minute and 1000/hour. A call counts against every
limit of its class. Each limit is a sliding-window counter: calls are counted per fixed window,
and the estimate for the last `window_seconds` is this window's count plus the previous
window's count weighted by the share of it still inside the sliding window. So 100/minute holds
across a window boundary too (a fixed window would let 100 calls at 12:00:59 and 100 more at
12:01:00 through). A refused call is not counted, so a client that retries too early does not
push its own wait further out; the first limit over its count answers with the seconds until
the next call would be allowed.

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
from typing import Any

import redis
import structlog

from hotgigs.cache import Cache

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class Limit:
    """At most `requests` calls in any `window_seconds`."""

    requests: int
    window_seconds: int


@dataclasses.dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: int = 0
    limit: Limit | None = None
    replies: list[Any] | None = None  # of the commands `hit(also=...)` added


#: Adds commands to the pipeline that counts a call (one round trip for both).
Also = Callable[["redis.client.Pipeline"], None]


@dataclasses.dataclass(frozen=True)
class _Window:
    """One limit's counters at one moment: the current fixed window and the one before."""

    limit: Limit
    key: str
    previous_key: str
    start: int

    def estimate(self, now: float, current: int, previous: int) -> float:
        """Calls in the sliding window ending now."""
        elapsed_share = (now - self.start) / self.limit.window_seconds
        return current + previous * (1 - elapsed_share)

    def seconds_until_allowed(self, now: float, current: int, previous: int) -> float:
        """With `current` calls counted and no more, when one more call would be allowed."""
        width, room = self.limit.window_seconds, self.limit.requests - 1  # room for that call
        if current <= room:  # the previous window's share has to fade enough
            return self.start + width * (1 - (room - current) / previous) - now
        # This window alone is over: wait for it to become the previous one and fade enough.
        return self.start + width + width * (1 - room / current) - now


class _LocalWindows:
    """In-memory fixed-window counters for when Redis is unreachable."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, expiry)
        self._lock = threading.Lock()

    def incr(self, key: str, expiry: float, now: float) -> int:
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            count = self._counts.get(key, (0, expiry))[0] + 1
            self._counts[key] = (count, expiry)
            return count

    def decr(self, key: str) -> None:
        with self._lock:
            count, expiry = self._counts.get(key, (1, 0.0))
            self._counts[key] = (count - 1, expiry)

    def get(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, (0, 0.0))[0]


class RateLimiter:
    """Counts calls per (class, identity) against the class's limits."""

    def __init__(self, cache: Cache, limits: dict[str, Sequence[Limit]],
                 clock: Callable[[], float] = time.time) -> None:
        self.cache = cache
        self.limits = limits
        self.clock = clock
        self._local = _LocalWindows()

    def _windows(self, rate_class: str, identity: str, now: float) -> list[_Window]:
        windows = []
        for limit in self.limits[rate_class]:
            bucket = int(now // limit.window_seconds)
            prefix = f"hg:rl:{rate_class}:{identity}:{limit.window_seconds}"
            windows.append(_Window(limit, f"{prefix}:{bucket}", f"{prefix}:{bucket - 1}",
                                   bucket * limit.window_seconds))
        return windows

    def _count(self, windows: list[_Window], now: float, also: Also | None
               ) -> tuple[list[tuple[int, int]], list[Any] | None]:
        """Count this call; (current, previous) per window, and the replies of the commands
        `also` added to the same round trip (None when Redis is unreachable: then this
        process counted the call)."""
        try:
            pipe = self.cache.client.pipeline(transaction=False)
            for window in windows:  # SET NX + INCR: works on Redis 6 (no EXPIRE NX there)
                pipe.set(window.key, 0, ex=2 * window.limit.window_seconds + 1, nx=True)
                pipe.incr(window.key)
                pipe.get(window.previous_key)
            if also is not None:
                also(pipe)
            replies = pipe.execute(raise_on_error=False)  # `also`'s errors are its own
            counted = 3 * len(windows)
            failed = [reply for reply in replies[:counted] if isinstance(reply, Exception)]
            if failed:
                raise failed[0]
            return [(int(replies[i + 1]), int(replies[i + 2] or 0))
                    for i in range(0, counted, 3)], replies[counted:]
        except redis.RedisError:
            log.warning("rate_limit_local_fallback")
            return [(self._local.incr(window.key, window.start + 2 * window.limit.window_seconds,
                                      now),
                     self._local.get(window.previous_key)) for window in windows], None

    def _uncount(self, windows: list[_Window], *, in_redis: bool) -> None:
        """Take back a refused call where it was counted (a DECR in Redis of a count this
        process kept would leave a key without expiry)."""
        if in_redis:
            try:
                pipe = self.cache.client.pipeline(transaction=False)
                for window in windows:
                    pipe.decr(window.key)
                pipe.execute()
            except redis.RedisError:
                log.warning("rate_limit_uncount_failed")  # the refused call stays counted
            return
        for window in windows:
            self._local.decr(window.key)

    def hit(self, rate_class: str, identity: str, *, also: Also | None = None) -> Decision:
        """Count one call; say whether it may proceed and, if not, when to retry. `also` adds
        commands to the same Redis round trip (the answer cache's look-up); their replies
        are the decision's `replies` (None when Redis was unreachable)."""
        now = self.clock()
        windows = self._windows(rate_class, identity, now)
        counts, replies = self._count(windows, now, also)
        for window, (current, previous) in zip(windows, counts, strict=True):
            if window.estimate(now, current, previous) > window.limit.requests:
                self._uncount(windows, in_redis=replies is not None)
                wait = window.seconds_until_allowed(now, current - 1, previous)
                return Decision(False, max(1, math.ceil(wait)), window.limit, replies)
        return Decision(True, replies=replies)
