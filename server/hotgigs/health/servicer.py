"""`hotgigs.v1.HealthService`: GET /api/health with live dependency checks (503 when unhealthy);
the checks are at most one second old, so load on this route never becomes load on the databases."""

from __future__ import annotations

import grpc
from google.protobuf import timestamp_pb2

from hotgigs import context as request_context
from hotgigs.cache import Cache
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.health import checks
from hotgigs.settings import Settings
from hotgigs.v1 import health_pb2, health_pb2_grpc


def _dependency(status: checks.DependencyStatus) -> health_pb2.DependencyHealth:
    return health_pb2.DependencyHealth(status=status.status,
                                       response_time_ms=status.response_time_ms)


class HealthServicer(health_pb2_grpc.HealthServiceServicer):
    """Reports the service and its dependencies; REST answers 503 while unhealthy."""

    def __init__(self, settings: Settings, database: Database, cache: Cache) -> None:
        self.settings = settings
        self.database = database
        self.cache = cache
        self.checks = checks.RecentCheck(database, cache, max_age=1.0)

    def GetHealth(self, request: health_pb2.GetHealthRequest,
                  context: grpc.ServicerContext) -> health_pb2.GetHealthResponse:
        checked, report = self.checks.report()
        if report.status == checks.UNHEALTHY:
            request_context.set_http_status(503)
        checked_at = timestamp_pb2.Timestamp()
        checked_at.FromNanoseconds(int(checked * 1e9))
        return health_pb2.GetHealthResponse(
            status=report.status,
            timestamp=checked_at,
            version=self.settings.version,
            environment=self.settings.environment,
            database=_dependency(report.database),
            cache=_dependency(report.cache),
        )


def build(components: Components) -> HealthServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return HealthServicer(components.settings, components.database, components.cache)
