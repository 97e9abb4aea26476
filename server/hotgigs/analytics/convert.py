"""Analytics numbers as protobuf messages: pure functions."""

from __future__ import annotations

from typing import Any

from hotgigs.analytics.service import MetricsIn
from hotgigs.core.protos import optional, timestamp
from hotgigs.v1 import analytics_pb2


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


def metrics_in(request: analytics_pb2.GetMetricsRequest) -> MetricsIn:
    return MetricsIn(days=optional(request, "days"))
