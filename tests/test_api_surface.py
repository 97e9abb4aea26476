"""The API surface: every RPC has an HTTP rule, every original route has an RPC."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotgigs.grpc_server import registry
from tests.support.api import api_rpcs, normalise

ROUTES_FILE = Path(__file__).parent / "data" / "original_api_routes.tsv"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def original_routes() -> list[tuple[str, str, str]]:
    rows = []
    for line in ROUTES_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            method, path, module = line.split("\t")
            rows.append((method, path, module))
    return rows


# Modules the original API did not have (so no original route names them).
ADDED_MODULES = {"service_accounts", "operations"}


def test_descriptor_set_holds_all_thirteen_services() -> None:
    """Health, the ten original modules, service accounts (issue 18) and operations (issue 20)."""
    services = {rpc.split("/")[1] for rpc in api_rpcs()}
    assert len(services) == 13, sorted(services)


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


def test_route_table_is_complete() -> None:
    """The project's copy of original-api.md names every module."""
    modules = {module for _, _, module in original_routes()}
    assert modules == set(registry.API_MODULES) - ADDED_MODULES
    assert len(original_routes()) >= 60


@pytest.mark.parametrize(("method", "path", "module"), original_routes(),
                         ids=lambda value: str(value))
def test_original_route_has_an_rpc(method: str, path: str, module: str) -> None:
    served = {(m, normalise(p)) for bindings in api_rpcs().values() for m, p in bindings}
    assert (method, normalise(path)) in served, f"{method} {path} ({module}) has no RPC"
