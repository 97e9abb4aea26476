"""Live checks of the dependencies: PostgreSQL (required) and Redis (degrades when down)."""

from __future__ import annotations

import dataclasses
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
