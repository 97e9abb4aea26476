"""Live checks of the dependencies: PostgreSQL (required) and Redis (degrades when down)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import structlog

from hotgigs.cache import Cache
from hotgigs.db import Database

log = structlog.get_logger(__name__)

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
UP, DOWN = "up", "down"


@dataclasses.dataclass(frozen=True)
class DependencyStatus:
    """One dependency: `up` or `down`, with the round trip when it answered."""

    status: str
    response_time_ms: float

    @property
    def is_up(self) -> bool:
        return self.status == UP


@dataclasses.dataclass(frozen=True)
class HealthReport:
    """The overall verdict: unhealthy without the database, degraded without the cache."""

    database: DependencyStatus
    cache: DependencyStatus

    @property
    def status(self) -> str:
        if not self.database.is_up:
            return UNHEALTHY
        return HEALTHY if self.cache.is_up else DEGRADED


def _probe(name: str, ping: Callable[[], float]) -> DependencyStatus:
    try:
        return DependencyStatus(UP, round(ping(), 3))
    except Exception as error:
        log.warning("dependency_down", dependency=name, error_type=type(error).__name__)
        return DependencyStatus(DOWN, 0.0)


def check(database: Database, cache: Cache) -> HealthReport:
    """Ping both dependencies now."""
    return HealthReport(database=_probe("postgresql", database.ping),
                        cache=_probe("redis", cache.ping))


class RecentCheck:
    """`check` at most once per `max_age` seconds: callers within that time get the same report
    (with the wall-clock time it was taken), and concurrent callers share one refresh, so a flood
    of health requests costs PostgreSQL and Redis one ping each per `max_age`."""

    def __init__(self, database: Database, cache: Cache, max_age: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.cache = cache
        self.max_age = max_age
        self.clock = clock
        self._lock = threading.Lock()
        self._latest: tuple[float, float, HealthReport] | None = None  # monotonic, epoch, report

    def report(self) -> tuple[float, HealthReport]:
        """(when it was checked, as a Unix time; the report)."""
        latest = self._latest
        if latest is not None and self.clock() - latest[0] < self.max_age:
            return latest[1], latest[2]
        with self._lock:
            latest = self._latest
            if latest is None or self.clock() - latest[0] >= self.max_age:
                latest = (self.clock(), time.time(), check(self.database, self.cache))
                self._latest = latest
            return latest[1], latest[2]
