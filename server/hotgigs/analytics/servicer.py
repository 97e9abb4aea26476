"""`hotgigs.v1.AnalyticsService`: protobuf in, analytics service, protobuf out.

Answers are cached per caller and question as analytics/policy.py declares. Dashboards and
metrics only read: they run on the read replica when one is configured (`Components.reads`)."""

from __future__ import annotations

import dataclasses

import grpc

from hotgigs.analytics import convert, service
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.core.protos import timestamp
from hotgigs.core.rpc import ADMIN
from hotgigs.db import Reads
from hotgigs.telemetry.recent import TRAFFIC
from hotgigs.v1 import analytics_pb2, analytics_pb2_grpc


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    """Thin transport layer over `hotgigs.analytics.service`."""

    def __init__(self, reads: Reads) -> None:
        """`reads`: the read replica's router, or the primary database without one."""
        self.reads = reads

    def GetDashboard(self, request: analytics_pb2.GetDashboardRequest,
                     context: grpc.ServicerContext) -> analytics_pb2.GetDashboardResponse:
        actor = caller()
        values = self.reads.read_session(
            lambda session: service.get_dashboard(session, actor=actor))
        return analytics_pb2.GetDashboardResponse(dashboard=convert.dashboard_to_proto(values),
                                                  user_type=actor.role)

    def GetMetrics(self, request: analytics_pb2.GetMetricsRequest,
                   context: grpc.ServicerContext) -> analytics_pb2.GetMetricsResponse:
        actor = caller()
        metrics_in = convert.metrics_in(request)
        metrics = self.reads.read_session(
            lambda session: service.get_metrics(session, actor=actor, metrics_in=metrics_in))
        values = metrics.values
        if actor.role == ADMIN:  # the checklist's performance-metrics endpoint
            values["performance"] = analytics_pb2.ServicePerformance(
                **dataclasses.asdict(TRAFFIC.summary()))
        return analytics_pb2.GetMetricsResponse(
            metrics=analytics_pb2.Metrics(**values),
            time_range=analytics_pb2.TimeRange(days=metrics.days,
                                               start_date=timestamp(metrics.start),
                                               end_date=timestamp(metrics.end)))

    def ListReports(self, request: analytics_pb2.ListReportsRequest,
                    context: grpc.ServicerContext) -> analytics_pb2.ListReportsResponse:
        actor = caller()
        return analytics_pb2.ListReportsResponse(
            reports=[analytics_pb2.Report(id=ident, name=name, description=text)
                     for ident, name, text in service.list_reports(actor=actor)],
            user_type=actor.role)


def build(components: Components) -> AnalyticsServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return AnalyticsServicer(components.reads)
