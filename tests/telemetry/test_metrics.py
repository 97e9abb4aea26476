"""Service metrics scraped over HTTP after real traffic through Envoy."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import prometheus_client
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import free_port
from hotgigs.grpc_server.server import GrpcServer, create_server
from hotgigs.settings import ConfigError
from hotgigs.telemetry import metrics
from tests.support.rest import bearer, register
from tests.support.servers import RunningEnvoy, make_settings, suite_keyring


@pytest.fixture(scope="module")
def scrape_url() -> Iterator[str]:
    port = free_port()
    server = metrics.serve("127.0.0.1", port)
    yield f"http://127.0.0.1:{port}/metrics"
    server.shutdown()
    server.server_close()


def value(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{val}"' in line for key, val in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels}")


def test_rpc_metrics_after_real_traffic(rest: httpx.Client, scrape_url: str) -> None:
    account = register(rest, "candidate")
    for _ in range(3):
        assert rest.get("/api/auth/me", headers=bearer(account)).status_code == 200
    assert rest.get("/api/auth/me").status_code == 401
    for _ in range(2):
        rest.get("/api/jobs", params={"search": "metricsprobe"})
    text = httpx.get(scrape_url, timeout=10).text
    labels = {"grpc_service": "hotgigs.v1.AuthService", "grpc_method": "GetCurrentUser",
              "grpc_type": "unary"}
    assert value(text, "grpc_server_started_total", **labels) >= 4
    assert value(text, "grpc_server_handled_total", grpc_code="OK", **labels) >= 3
    assert value(text, "grpc_server_handled_total", grpc_code="UNAUTHENTICATED", **labels) >= 1
    assert value(text, "grpc_server_handled_total", grpc_code="DATA_LOSS", **labels) == 0, \
        "every code is pre-initialised"
    assert value(text, "grpc_server_handling_seconds_count", **labels) >= 4
    assert value(text, "grpc_server_handling_seconds_bucket", le="5.0", **labels) >= 4
    assert value(text, "grpc_server_started_total", grpc_method="StreamNotifications",
                 grpc_type="server_stream") >= 0
    assert value(text, "hotgigs_db_query_seconds_count", operation="SELECT") > 0
    assert value(text, "hotgigs_cache_requests_total", cache="job_search", result="hit") >= 1
    assert value(text, "hotgigs_cache_requests_total", cache="job_search", result="miss") >= 1
    assert value(text, "hotgigs_db_pool_connections_in_use") >= 0
    assert value(text, "hotgigs_mail_outbox_backlog") >= 0
    assert value(text, "process_resident_memory_bytes") > 0
    assert re.search(r"^process_open_fds \d", text, re.MULTILINE)


def test_counters_exist_at_zero_before_their_first_event() -> None:
    """A fresh process exports the rate-limit and cache counters at 0 (rate() is 0, not empty)."""
    import subprocess
    import sys

    text = subprocess.run(
        [sys.executable, "-c", "import prometheus_client, hotgigs.telemetry.metrics; "
         "print(prometheus_client.generate_latest().decode())"],
        capture_output=True, text=True, check=True, timeout=60).stdout
    for rate_class in ("default", "auth"):
        assert value(text, "hotgigs_rate_limit_rejections_total", rate_class=rate_class) == 0
    for cache in ("job_search", "analytics"):
        for result in ("hit", "miss"):
            assert value(text, "hotgigs_cache_requests_total", cache=cache, result=result) == 0


def test_health_checks_are_not_counted_as_a_module(rest: httpx.Client, grpc_channel: grpc.Channel,
                                                   scrape_url: str) -> None:
    """Envoy health-checks the worker every second: no grpc.health.v1.Health series."""
    assert rest.get("/api/health").status_code == 200
    health_pb2_grpc.HealthStub(grpc_channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    text = httpx.get(scrape_url, timeout=10).text
    assert 'grpc_service="hotgigs.v1.HealthService"' in text
    assert "grpc.health.v1.Health" not in text


def test_envoy_exports_per_method_grpc_stats(rest: httpx.Client, envoy: RunningEnvoy) -> None:
    rest.get("/api/health")
    text = httpx.get(f"{envoy.admin_url}/stats/prometheus", timeout=10).text
    assert "envoy_cluster_grpc_" in text, "grpc_stats filter exports per-method stats"
    # the full service and the method as labels (the default tags split the dotted service
    # name: grpc_bridge_service="hotgigs", grpc_bridge_method="v1", the method in the name)
    totals = [line for line in text.splitlines() if line.startswith("envoy_cluster_grpc_total{")
              and 'grpc_service="hotgigs.v1.HealthService"' in line
              and 'grpc_method="GetHealth"' in line]
    assert totals and float(totals[0].rsplit(" ", 1)[1]) >= 1, [
        line for line in text.splitlines() if "HealthService" in line][:3]
    assert "grpc_bridge" not in text
    # bounded: a handful of metric names, one series per API method and stat
    names = {line.split("{")[0] for line in text.splitlines() if line.startswith("envoy_cluster_grpc")}
    assert names <= {f"envoy_cluster_grpc_{stat}" for stat in (
        "success", "failure", "total", "request_message_count", "response_message_count",
        *map(str, range(17)))}, names  # the numbers: one per gRPC status code


def test_a_busy_metrics_port_is_a_configuration_error_that_names_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"HOTGIGS_METRICS_ADDRESS 127.0.0.1:{port}.*in use"):
            metrics.serve("127.0.0.1", port)


def test_a_stopped_servers_database_is_not_read_by_a_scrape(
        grpc_server: GrpcServer, database: Database, migrated_database_url: str, cache: Cache,
        tmp_path: Path) -> None:
    """The gauges read the newest running server's database. Once a server stops (and its
    owner disposes of its database), a scrape reads the one still running: before, it opened
    a connection on the disposed engine that nobody closed, and the garbage collector later
    found it open in whatever test was running (a psycopg ResourceWarning, an error here)."""
    own = Database(migrated_database_url, keyring=suite_keyring())
    server = create_server(make_settings(tmp_path), own, cache)
    server.start()
    try:
        assert metrics.SOURCES.database is own
        # a second server on the session's database, stopped: the session's still runs on it
        beside = create_server(make_settings(tmp_path / "beside"), database, cache)
        beside.stop(0)
        assert metrics.SOURCES.database is own
    finally:
        server.stop(0)
        own.dispose()
    assert metrics.SOURCES.database is database, "the session's server is running still"
    prometheus_client.generate_latest()
    assert own.engine.pool.checkedin() == 0, "no connection opened on the disposed engine"
