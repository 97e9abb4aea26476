"""The RPCs of `hotgigs.v1.AnalyticsService`: who may call each (`hotgigs.core.rpc`) and the
answer cache: per caller and question, short, as the numbers move."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import PROBE, SIGNED_IN, Cached, Rpc, signed_in

CACHE_SECONDS: Final = 15
# No write invalidates these (the numbers may be 15 s old); the generation lets an admin drop
# them all at once (POST /api/cache/clear).
GENERATION: Final = "hg:analytics:generation"
DASHBOARD_CACHE: Final = Cached(name="analytics", prefix="hg:analytics:dashboard:",
                                ttl_seconds=CACHE_SECONDS, per_caller=True, generation=GENERATION)
METRICS_CACHE: Final = Cached(name="analytics", prefix="hg:analytics:metrics:",
                              ttl_seconds=CACHE_SECONDS, per_caller=True, generation=GENERATION)

SERVICE: Final = "AnalyticsService"
RPCS: Final = {
    "GetDashboard": Rpc(signed_in("numbers of the caller's role"), cached=DASHBOARD_CACHE),
    "GetMetrics": Rpc(signed_in("service performance for admins only"), cached=METRICS_CACHE),
    "ListReports": Rpc(SIGNED_IN),
    # grpc.health.v1 status of this service: answered by the health module.
    "GetAnalyticsHealth": Rpc(PROBE, served_by="health"),
}
