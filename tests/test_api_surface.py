"""The API surface: every RPC has an HTTP rule, and every route of the original Phase 4 app
(tests/data/original_api_routes.tsv, 73 routes) has an HTTP rule on its module's service."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotgigs import manifest
from hotgigs.grpc_server import registry
from tests.support.api import api_rpcs, normalise

ROUTES_FILE = Path(__file__).parent / "data" / "original_api_routes.tsv"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


PHASE4_ROUTES = 73  # the route decorators of optimized_main.py and its blueprints


def original_routes() -> list[tuple[str, str, str, str]]:
    """(method, path, module, pending) of each row; `pending` says why a route has no RPC yet."""
    rows = []
    for line in ROUTES_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            method, path, module, *pending = line.split("\t")
            rows.append((method, path, module, pending[0] if pending else ""))
    return rows


# Modules the original API did not have (so no original route names them).
ADDED_MODULES = {"service_accounts", "audit", "privacy"}


def test_descriptor_set_holds_all_fifteen_services() -> None:
    """Health, the ten original modules, service accounts (issue 18), operations (issue 20),
    the audit log and privacy (issue 18)."""
    services = {rpc.split("/")[1] for rpc in api_rpcs()}
    assert len(services) == 15, sorted(services)


def test_every_rpc_has_an_http_rule() -> None:
    missing = [rpc for rpc, bindings in api_rpcs().items() if not bindings]
    assert not missing, f"RPCs without a google.api.http rule: {missing}"


def test_every_http_rule_is_under_api() -> None:
    stray = [(rpc, path) for rpc, bindings in api_rpcs().items() for _, path in bindings
             if not path.startswith("/api/")]
    assert not stray


def test_no_two_rpcs_share_a_route() -> None:
    seen: dict[tuple[str, str], str] = {}
    for rpc, bindings in api_rpcs().items():
        for method, path in bindings:
            key = (method, normalise(path))
            assert key not in seen, f"{method} {path}: both {seen[key]} and {rpc}"
            seen[key] = rpc


def test_route_table_is_the_phase4_app() -> None:
    """The project's copy of original-api.md: the Phase 4 app's 73 routes, each once, naming
    every module; a pending mark always says why."""
    rows = original_routes()
    assert len(rows) == PHASE4_ROUTES
    assert len({(method, normalise(path)) for method, path, _, _ in rows}) == PHASE4_ROUTES
    assert {module for _, _, module, _ in rows} == set(registry.API_MODULES) - ADDED_MODULES
    assert all(method in {m.upper() for m in HTTP_METHODS} and path.startswith("/api/")
               for method, path, _, _ in rows)
    assert all(pending.startswith("pending: ") for *_, pending in rows if pending)


def _route_cases() -> list[object]:
    """One case per route; a pending one is a strict expected failure, so it fails (XPASS) the
    day its route lands until the row loses its mark."""
    return [pytest.param(method, path, module, id=f"{method} {path}", marks=[pytest.mark.xfail(
        strict=True, reason=f"{pending}; once the route has its RPC, remove the pending mark from "
                            "tests/data/original_api_routes.tsv")] if pending else [])
            for method, path, module, pending in original_routes()]


@pytest.mark.parametrize(("method", "path", "module"), _route_cases())
def test_original_route_has_an_rpc(method: str, path: str, module: str) -> None:
    """The route has an HTTP rule, on an RPC of the module the table names."""
    served = {(m, normalise(p)): rpc for rpc, bindings in api_rpcs().items() for m, p in bindings}
    rpc = served.get((method, normalise(path)))
    assert rpc is not None, f"{method} {path} ({module}) has no HTTP rule"
    service = next(m.full_service for m in manifest.MODULES if m.name == module)
    assert rpc.startswith(f"/{service}/"), f"{method} {path} is {rpc}, not on {service}"
