"""Envoy's overload manager with the real Envoy: over the connection limit new connections are
closed on accept while established ones keep working; the heap actions are in the config."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest
import yaml

from hotgigs.grpc_server.server import GrpcServer
from hotgigs.settings import Settings
from tests.support.servers import RunningEnvoy, start_envoy

MAX_CONNECTIONS = 3  # test-sized HOTGIGS_ENVOY_MAX_CONNECTIONS


@pytest.fixture(scope="module")
def small_envoy(settings: Settings, grpc_server: GrpcServer,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEnvoy]:
    local = dataclasses.replace(settings, envoy_max_connections=MAX_CONNECTIONS)
    with start_envoy(local, grpc_server.port, tmp_path_factory.mktemp("small-envoy")) as running:
        yield running


def test_over_the_connection_limit_new_connections_are_refused(small_envoy: RunningEnvoy) -> None:
    clients = [httpx.Client(base_url=small_envoy.base_url, timeout=10) for _ in range(MAX_CONNECTIONS)]
    try:
        for client in clients:  # each keeps its connection open (keep-alive)
            assert client.get("/api/health").status_code == 200
        with httpx.Client(base_url=small_envoy.base_url, timeout=10) as extra, \
                pytest.raises(httpx.TransportError):
            extra.get("/api/health")
        for client in clients:
            assert client.get("/api/health").status_code == 200
        stats = httpx.get(f"{small_envoy.admin_url}/stats", timeout=5).text
        overflow = next(line for line in stats.splitlines()
                        if line.startswith("listener.") and "downstream_global_cx_overflow" in line)
        assert int(overflow.rsplit(":", 1)[1]) >= 1, overflow
    finally:
        for client in clients:
            client.close()


def test_heap_monitor_sheds_load_in_steps(small_envoy: RunningEnvoy) -> None:
    overload = yaml.safe_load(small_envoy.config_path.read_text())["overload_manager"]
    heap = {a["name"].rsplit(".", 1)[1]: a["triggers"][0]["threshold"]["value"]
            for a in overload["actions"]}
    assert heap["shrink_heap"] < heap["disable_http_keepalive"] < heap["stop_accepting_requests"] < 1
    monitors = {m["name"]: m["typed_config"] for m in overload["resource_monitors"]}
    assert monitors["envoy.resource_monitors.fixed_heap"]["max_heap_size_bytes"] == 1024 ** 3
    assert monitors["envoy.resource_monitors.global_downstream_max_connections"][
        "max_active_downstream_connections"] == MAX_CONNECTIONS
