"""The RPCs of `hotgigs.v1.OperationsService`: admins only (the answers reveal internals)."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import ADMIN, Rpc, roles

ADMINS: Final = roles(ADMIN, scope="the whole deployment")

SERVICE: Final = "OperationsService"
RPCS: Final = {
    "GetPerformance": Rpc(ADMINS),
    "GetJobsPerformance": Rpc(ADMINS),
    "ClearCache": Rpc(ADMINS),
    "RefreshMaterializedViews": Rpc(ADMINS),
}
