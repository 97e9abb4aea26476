"""Who may call each RPC: the policy table read by the auth interceptor. Default deny.

The kinds of policy are defined in `hotgigs.core.rpc`; each module declares its RPCs' policies
in its `policy.py`, and `hotgigs.manifest` collects them into `POLICIES`. A test walks the
descriptor set and fails when an RPC has no entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from hotgigs.core.rpc import (
    ADMIN,
    AUTH_FLOW,
    CANDIDATE,
    COMPANY,
    HIRING,
    PROBE,
    PUBLIC,
    RECRUITER,
    ROLE_ALIASES,
    ROLES,
    SELF_REGISTERABLE_ROLES,
    SIGNED_IN,
    Policy,
    roles,
    signed_in,
)
from hotgigs.manifest import POLICIES

__all__ = ["ADMIN", "AUTH_FLOW", "CANDIDATE", "COMPANY", "HIRING", "INFRASTRUCTURE_PREFIXES",
           "POLICIES", "PROBE", "PUBLIC", "RECRUITER", "ROLES", "ROLE_ALIASES",
           "SELF_REGISTERABLE_ROLES", "SIGNED_IN", "Policy", "policy_for", "roles", "signed_in"]

# Infrastructure services: open to load balancers and operators' tools.
INFRASTRUCTURE_PREFIXES: Final = ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/",
                                  "/grpc.reflection.v1.ServerReflection/")


def policy_for(method: str, extra: Mapping[str, Policy] | None = None) -> Policy | None:
    """The policy of a full method name (`/package.Service/Method`); None means deny.
    `extra` adds policies for services outside the API (tests' probe services)."""
    found = POLICIES.get(method) or (extra or {}).get(method)
    if found is None and method.startswith(INFRASTRUCTURE_PREFIXES):
        return PROBE
    return found
