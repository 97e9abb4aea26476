"""The RPCs of `hotgigs.v1.AuditService`: admins only (an admin's key with `audit.read` too)."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import ADMIN, Rpc, roles

SERVICE: Final = "AuditService"
RPCS: Final = {
    "ListAuditEntries": Rpc(roles(ADMIN, scope="the whole audit log")),
}
