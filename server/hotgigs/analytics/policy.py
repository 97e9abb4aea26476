"""The RPCs of `hotgigs.v1.AnalyticsService`: who may call each (`hotgigs.core.rpc`), which
creates are idempotent, and which answer other than 200 over REST."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import SIGNED_IN, Rpc, signed_in

SERVICE: Final = "AnalyticsService"
RPCS: Final = {
    "GetDashboard": Rpc(signed_in("numbers of the caller's role")),
    "GetMetrics": Rpc(signed_in("service performance for admins only")),
    "ListReports": Rpc(SIGNED_IN),
}
