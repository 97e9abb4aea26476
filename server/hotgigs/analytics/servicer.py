"""`hotgigs.v1.AnalyticsService`: protobuf in, analytics service, protobuf out.

Answers are cached for `CACHE_SECONDS` per caller and question (short, as the numbers move)."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import grpc
import redis
from google.protobuf import message as protobuf_message

from hotgigs.analytics import service
from hotgigs.cache import Cache
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.core.protos import timestamp
from hotgigs.core.rpc import ADMIN
from hotgigs.db import Database
from hotgigs.telemetry import metrics
from hotgigs.telemetry.recent import TRAFFIC
from hotgigs.v1 import analytics_pb2, analytics_pb2_grpc

CACHE_SECONDS = 15



def dashboard_to_proto(values: dict[str, Any]) -> analytics_pb2.Dashboard:
    message = analytics_pb2.Dashboard()
    message.applications.update(values.get("applications", {}))
    message.jobs.update(values.get("jobs", {}))
    message.placements.update(values.get("placements", {}))
    for name in ("profile_completion", "job_matches", "companies", "clients", "candidates"):
        if name in values:
            setattr(message, name, values[name])
    if "platform" in values:
        message.platform.CopyFrom(analytics_pb2.PlatformTotals(**values["platform"]))
    for item in values.get("recent_activity", []):
        message.recent_activity.append(analytics_pb2.ActivityItem(
            type=item.kind, application_id=item.application_id, job_id=item.job_id,
            job_title=item.job_title, status=item.status, occurred_at=timestamp(item.occurred_at)))
    return message


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    """Thin transport layer over `hotgigs.analytics.service`, with a short answer cache."""

    def __init__(self, database: Database, cache: Cache) -> None:
        self.database = database
        self.client = cache.client

    def _cached(self, key: str, parse: type[protobuf_message.Message]) -> Any:
        try:
            raw = self.client.get(key)
        except redis.RedisError:
            return None
        hit = isinstance(raw, bytes)
        metrics.CACHE_REQUESTS.labels("analytics", "hit" if hit else "miss").inc()
        return parse.FromString(raw) if isinstance(raw, bytes) else None

    def _store(self, key: str, value: protobuf_message.Message) -> None:
        with contextlib.suppress(redis.RedisError):  # no cache is fine: answers are recomputed
            self.client.set(key, value.SerializeToString(), ex=CACHE_SECONDS)

    def GetDashboard(self, request: analytics_pb2.GetDashboardRequest,
                     context: grpc.ServicerContext) -> analytics_pb2.GetDashboardResponse:
        actor = caller()
        key = f"hg:analytics:dashboard:{actor.user_id}:{actor.role}"
        cached = self._cached(key, analytics_pb2.GetDashboardResponse)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        with self.database.session_scope() as session:
            values = service.dashboard(session, actor=actor)
        response = analytics_pb2.GetDashboardResponse(dashboard=dashboard_to_proto(values),
                                                      user_type=actor.role)
        self._store(key, response)
        return response

    def GetMetrics(self, request: analytics_pb2.GetMetricsRequest,
                   context: grpc.ServicerContext) -> analytics_pb2.GetMetricsResponse:
        actor = caller()
        days = request.days if request.HasField("days") else None
        key = f"hg:analytics:metrics:{actor.user_id}:{actor.role}:{days}"
        cached = self._cached(key, analytics_pb2.GetMetricsResponse)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        with self.database.session_scope() as session:
            values, window, start, end = service.metrics(session, actor=actor, days=days)
        if actor.role == ADMIN:  # the checklist's performance-metrics endpoint
            values["performance"] = analytics_pb2.ServicePerformance(
                **dataclasses.asdict(TRAFFIC.summary()))
        response = analytics_pb2.GetMetricsResponse(
            metrics=analytics_pb2.Metrics(**values),
            time_range=analytics_pb2.TimeRange(days=window, start_date=timestamp(start),
                                               end_date=timestamp(end)))
        self._store(key, response)
        return response

    def ListReports(self, request: analytics_pb2.ListReportsRequest,
                    context: grpc.ServicerContext) -> analytics_pb2.ListReportsResponse:
        actor = caller()
        return analytics_pb2.ListReportsResponse(
            reports=[analytics_pb2.Report(id=ident, name=name, description=text)
                     for ident, name, text in service.REPORTS.get(actor.role, [])],
            user_type=actor.role)


def build(components: Components) -> AnalyticsServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return AnalyticsServicer(components.database, components.cache)
