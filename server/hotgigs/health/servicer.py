"""`hotgigs.v1.HealthService`: GET /api/health with live dependency checks (503 when unhealthy);
the checks are at most one second old, so load on this route never becomes load on the databases.
Also answers the per-module health RPCs (`GET /api/<module>/health`, declared by each module's
`policy.py` as `served_by="health"`) from the grpc.health.v1 status the server keeps for that
module's service: no database work at all."""

from __future__ import annotations

from typing import TypeVar

import grpc
from google.protobuf import message, timestamp_pb2
from grpc_health.v1 import health_pb2 as grpc_health_pb2

from hotgigs import context as request_context
from hotgigs.cache import Cache
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.health import checks
from hotgigs.health.monitor import SERVING, HealthStatuses
from hotgigs.settings import Settings
from hotgigs.v1 import (
    analytics_pb2,
    candidates_pb2,
    documents_pb2,
    health_pb2,
    health_pb2_grpc,
    jobs_pb2,
    notifications_pb2,
)

_STATUS_NAMES = grpc_health_pb2.HealthCheckResponse.ServingStatus
ModuleHealth = TypeVar("ModuleHealth", bound=message.Message)


def _dependency(status: checks.DependencyStatus) -> health_pb2.DependencyHealth:
    return health_pb2.DependencyHealth(status=status.status,
                                       response_time_ms=status.response_time_ms)


class HealthServicer(health_pb2_grpc.HealthServiceServicer):
    """Reports the service and its dependencies; REST answers 503 while unhealthy."""

    def __init__(self, settings: Settings, database: Database, cache: Cache,
                 statuses: HealthStatuses) -> None:
        self.settings = settings
        self.database = database
        self.cache = cache
        self.statuses = statuses
        self.checks = checks.RecentCheck(database, cache, max_age=1.0)

    def _module_health(self, response_class: type[ModuleHealth], module: str,
                       service: str) -> ModuleHealth:
        """The module's grpc.health.v1 status as the original's `{status, service, timestamp}`;
        REST answers 503 with the same body unless SERVING."""
        status = self.statuses.status(f"hotgigs.v1.{service}")
        if status != SERVING:
            request_context.set_http_status(503)
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        return response_class(status=checks.HEALTHY if status == SERVING else checks.UNHEALTHY,
                              service=module, timestamp=now, grpc_status=_STATUS_NAMES.Name(status))

    def GetAnalyticsHealth(self, request: analytics_pb2.GetAnalyticsHealthRequest,
                           context: grpc.ServicerContext) -> analytics_pb2.GetAnalyticsHealthResponse:
        return self._module_health(analytics_pb2.GetAnalyticsHealthResponse, "analytics",
                                   "AnalyticsService")

    def GetCandidatesHealth(self, request: candidates_pb2.GetCandidatesHealthRequest,
                            context: grpc.ServicerContext
                            ) -> candidates_pb2.GetCandidatesHealthResponse:
        return self._module_health(candidates_pb2.GetCandidatesHealthResponse, "candidates",
                                   "CandidateService")

    def GetDocumentsHealth(self, request: documents_pb2.GetDocumentsHealthRequest,
                           context: grpc.ServicerContext) -> documents_pb2.GetDocumentsHealthResponse:
        return self._module_health(documents_pb2.GetDocumentsHealthResponse, "documents",
                                   "DocumentService")

    def GetJobsHealth(self, request: jobs_pb2.GetJobsHealthRequest,
                      context: grpc.ServicerContext) -> jobs_pb2.GetJobsHealthResponse:
        return self._module_health(jobs_pb2.GetJobsHealthResponse, "jobs", "JobService")

    def GetNotificationsHealth(self, request: notifications_pb2.GetNotificationsHealthRequest,
                               context: grpc.ServicerContext
                               ) -> notifications_pb2.GetNotificationsHealthResponse:
        return self._module_health(notifications_pb2.GetNotificationsHealthResponse,
                                   "notifications", "NotificationService")

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
    return HealthServicer(components.settings, components.database, components.cache,
                          components.health)
