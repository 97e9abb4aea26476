"""The module manifest: every API module with its gRPC service, its RPC table (`policy.py`)
and its servicer (`servicer.build`). One place to add an RPC: its entry in the module's
`policy.py` (and the method in the servicer). Derived from here, never kept by hand:
the services the server registers (`hotgigs.grpc_server.registry`), the access policy table
(`hotgigs.security.policy.POLICIES`), the idempotent creates
(`hotgigs.grpc_server.idempotency`) and the REST success statuses
(`hotgigs.grpc_server.rest_status`).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any, Final

from hotgigs.ai import policy as ai
from hotgigs.analytics import policy as analytics
from hotgigs.applications import policy as applications
from hotgigs.audit import policy as audit
from hotgigs.auth import policy as auth
from hotgigs.candidates import policy as candidates
from hotgigs.companies import policy as companies
from hotgigs.core.components import Components
from hotgigs.core.rpc import Policy, Rpc, is_read
from hotgigs.documents import policy as documents
from hotgigs.health import policy as health
from hotgigs.jobs import policy as jobs
from hotgigs.notifications import policy as notifications
from hotgigs.operations import policy as operations
from hotgigs.privacy import policy as privacy
from hotgigs.service_accounts import policy as service_accounts
from hotgigs.users import policy as users

API_PACKAGE: Final = "hotgigs.v1"


@dataclasses.dataclass(frozen=True)
class Module:
    """One API module: folder `hotgigs/<name>/`, proto `protos/hotgigs/v1/<name>.proto`."""

    name: str
    service: str  # short gRPC service name, e.g. JobService
    rpcs: Mapping[str, Rpc]

    @property
    def full_service(self) -> str:
        return f"{API_PACKAGE}.{self.service}"

    def method(self, rpc: str) -> str:
        """The full method name gRPC routes on: `/hotgigs.v1.JobService/GetJob`."""
        return f"/{self.full_service}/{rpc}"

    def build(self, components: Components) -> Any:
        """The module's servicer (its `servicer.build(components)`), imported on first use."""
        servicer: ModuleType = importlib.import_module(f"hotgigs.{self.name}.servicer")
        return servicer.build(components)


def _module(name: str, policy: ModuleType) -> Module:
    return Module(name, policy.SERVICE, policy.RPCS)


# Health first (the probes' service), then the ten domain modules, key management,
# operations (performance figures, cache maintenance), the audit log and data export and
# erasure.
MODULES: Final[tuple[Module, ...]] = (
    _module("health", health), _module("auth", auth), _module("users", users),
    _module("companies", companies), _module("jobs", jobs), _module("applications", applications),
    _module("documents", documents), _module("analytics", analytics), _module("ai", ai),
    _module("candidates", candidates), _module("notifications", notifications),
    _module("service_accounts", service_accounts), _module("operations", operations),
    _module("audit", audit), _module("privacy", privacy),
)


def _rpcs() -> dict[str, Rpc]:
    return {module.method(name): rpc for module in MODULES for name, rpc in module.rpcs.items()}


def servicers(components: Components) -> dict[str, Any]:
    """Every module's servicer by full service name; an RPC `served_by` another module is
    answered by that module's servicer method of the same name."""
    built = {module.name: module.build(components) for module in MODULES}
    for module in MODULES:
        for name, rpc in module.rpcs.items():
            if rpc.served_by:
                setattr(built[module.name], name, getattr(built[rpc.served_by], name))
    return {module.full_service: built[module.name] for module in MODULES}


RPCS: Final[Mapping[str, Rpc]] = _rpcs()
POLICIES: Final[Mapping[str, Policy]] = {method: rpc.policy for method, rpc in RPCS.items()}
IDEMPOTENT_CREATES: Final = frozenset(method for method, rpc in RPCS.items() if rpc.idempotent)
REST_STATUSES: Final[Mapping[str, int]] = {method: rpc.rest_status for method, rpc in RPCS.items()
                                           if rpc.rest_status != 200}
# Every answer cache (`Cached.name`) and the Redis keys of their groups' generations: bumping
# them all (POST /api/cache/clear) makes every cached answer of every worker miss.
CACHE_NAMES: Final = tuple(sorted({rpc.cached.name for rpc in RPCS.values() if rpc.cached}))
CACHE_GENERATIONS: Final = tuple(sorted(
    {rpc.cached.generation for rpc in RPCS.values() if rpc.cached and rpc.cached.generation}
    | {generation for rpc in RPCS.values() for generation in rpc.invalidates}))


def _key_scopes() -> dict[str, frozenset[str]]:
    """Method -> the scopes that let an API key call it: `<module>.read` or `<module>.write`
    (by `is_read`) and `Service.Method`. Methods whose policy refuses keys are absent."""
    return {module.method(name): frozenset({
        f"{module.name}.{'read' if is_read(name) else 'write'}", f"{module.service}.{name}"})
        for module in MODULES for name, rpc in module.rpcs.items() if rpc.policy.keys}


KEY_SCOPES: Final[Mapping[str, frozenset[str]]] = _key_scopes()
SCOPE_NAMES: Final = frozenset(scope for scopes in KEY_SCOPES.values() for scope in scopes)
