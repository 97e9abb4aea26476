"""A rolling, in-process view of the last minutes of traffic, for the admin metrics answer.

Per worker process (each process sees its own RPCs); the fleet-wide numbers come from
Prometheus. Kept small: at most `MAX_SAMPLES` recent RPCs, counters for cache hits and misses.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time

MAX_SAMPLES = 20_000
WINDOW_SECONDS = 300.0
SERVER_ERRORS = frozenset({"INTERNAL", "UNKNOWN", "DATA_LOSS", "UNAVAILABLE", "DEADLINE_EXCEEDED"})


@dataclasses.dataclass(frozen=True)
class Performance:
    window_seconds: float
    requests: int
    request_rate: float
    error_rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cache_hit_ratio: float


class RecentTraffic:
    def __init__(self) -> None:
        self._samples: collections.deque[tuple[float, float, bool]] = collections.deque(
            maxlen=MAX_SAMPLES)
        self._cache = {"hit": 0, "miss": 0}
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def record(self, duration_ms: float, code: str) -> None:
        with self._lock:
            self._samples.append((time.monotonic(), duration_ms, code in SERVER_ERRORS))

    def cache(self, hit: bool) -> None:
        with self._lock:
            self._cache["hit" if hit else "miss"] += 1

    def summary(self, window_seconds: float = WINDOW_SECONDS) -> Performance:
        now = time.monotonic()
        with self._lock:
            recent = [s for s in self._samples if s[0] >= now - window_seconds]
            hits, misses = self._cache["hit"], self._cache["miss"]
        span = min(window_seconds, max(now - self._started, 1e-6))
        durations = sorted(d for _, d, _ in recent)

        def percentile(q: float) -> float:
            return round(durations[min(len(durations) - 1, int(q * len(durations)))], 3) \
                if durations else 0.0

        return Performance(
            window_seconds=round(span, 1), requests=len(recent),
            request_rate=round(len(recent) / span, 3),
            error_rate=round(sum(1 for *_, bad in recent if bad) / len(recent), 4) if recent else 0.0,
            p50_ms=percentile(0.50), p95_ms=percentile(0.95), p99_ms=percentile(0.99),
            cache_hit_ratio=round(hits / (hits + misses), 4) if hits + misses else 0.0)


TRAFFIC = RecentTraffic()
