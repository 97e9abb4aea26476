"""The `hotgigs` command as a newcomer uses it: --help, config errors, and `up` end to end."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hotgigs.dev.embedded import free_port
from tests.support.cli import HOTGIGS, run_cli


def test_help_lists_the_subcommands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("up", "serve", "migrate", "envoy-config"):
        assert command in result.stdout


def test_bad_configuration_is_a_clear_error_not_a_traceback() -> None:
    env = {**os.environ, "HOTGIGS_GRPC_ADDRESS": "not-an-address"}
    result = run_cli("serve", env=env)
    assert result.returncode == 2
    assert "HOTGIGS_GRPC_ADDRESS" in result.stderr
    assert "Traceback" not in result.stderr


def test_development_key_beyond_loopback_exits_2_naming_the_setting() -> None:
    """Issue 12 item 19: `make run` listening on 0.0.0.0 with the public key refuses to start."""
    env = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET_KEY", "HOTGIGS_ENV")}
    env["HOTGIGS_HTTP_ADDRESS"] = "0.0.0.0:8080"
    result = run_cli("up", env=env)
    assert result.returncode == 2
    assert "JWT_SECRET_KEY" in result.stderr and "HOTGIGS_HTTP_ADDRESS" in result.stderr
    assert "Traceback" not in result.stderr


def test_downgrade_without_a_target_is_refused(tmp_path: Path, migrated_database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": migrated_database_url, "HOTGIGS_DATA_DIR": str(tmp_path)}
    result = run_cli("migrate", "downgrade", env=env)
    assert result.returncode == 2
    assert "downgrade needs a target revision" in result.stderr


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port_pair(taken: set[int]) -> int:
    """A port p such that p and p + 1 are both free and neither is in `taken` (workers use
    consecutive ports for gRPC and for metrics, so the two ranges must not overlap)."""
    # Below Linux's ephemeral range (32768-60999 by default): a port the kernel hands out as
    # free_port() can become some outgoing connection's local port (the stack's own connections
    # to PostgreSQL and Redis) before the worker binds it; seen as "Address already in use".
    low, _high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    while True:
        port = random.randrange(10_000, low - 1)  # noqa: S311 - not for security
        if not {port, port + 1} & taken and _port_is_free(port) and _port_is_free(port + 1):
            return port


def test_up_runs_the_whole_stack_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    """What `make run` does, on the embedded defaults, in a fresh data folder."""
    http_port, grpc_port, admin_port, metrics_port = free_port(), free_port(), free_port(), free_port()
    env = {**os.environ, "HOTGIGS_DATA_DIR": str(tmp_path / "var"), "HOTGIGS_LOG_FORMAT": "json",
           "HOTGIGS_HTTP_ADDRESS": f"127.0.0.1:{http_port}",
           "HOTGIGS_GRPC_ADDRESS": f"127.0.0.1:{grpc_port}",
           "HOTGIGS_ENVOY_ADMIN_ADDRESS": f"127.0.0.1:{admin_port}",
           "HOTGIGS_ENVOY_ACCESS_LOG": str(tmp_path / "access.log"),
           "HOTGIGS_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}"}
    env.pop("DATABASE_URL", None)
    env.pop("CACHE_REDIS_URL", None)
    process = subprocess.Popen([HOTGIGS, "up"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    banner: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            banner.append(line)
            if "Press Ctrl-C" in line:
                break
        output = "".join(banner)
        assert "Press Ctrl-C to stop." in output, output
        assert f"http://127.0.0.1:{http_port}/api/health" in output
        assert "(embedded, data in" in output
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        assert "grpc_server_handled_total" in scraped

        health = httpx.get(f"http://127.0.0.1:{http_port}/api/health", timeout=10)
        assert health.status_code == 200
        assert health.json()["database"]["status"] == "up"
        assert health.json()["cache"]["status"] == "up"
        assert httpx.get(f"http://127.0.0.1:{http_port}/api/nonexistent").status_code == 404
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            status = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5).status
            assert status == health_pb2.HealthCheckResponse.SERVING

        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        if process.stdout is not None and not process.stdout.closed:
            process.communicate()
    assert process.returncode == 0, rest
    assert "Stopped." in rest
    assert all(_port_is_free(port) for port in (http_port, grpc_port, admin_port))
    assert "postgres_stopped" in rest


def test_up_with_two_worker_processes(tmp_path: Path) -> None:
    """`hotgigs up --workers 2 --observe`: two `serve` processes behind one Envoy, both scraped
    by the local Prometheus, all stopped by Ctrl-C."""
    http_port, admin_port = free_port(), free_port()
    grpc_base = _free_port_pair(taken={http_port, admin_port})
    metrics_port = _free_port_pair(taken={http_port, admin_port, grpc_base, grpc_base + 1})
    env = {**os.environ, "HOTGIGS_DATA_DIR": str(tmp_path / "var"), "HOTGIGS_LOG_FORMAT": "json",
           "HOTGIGS_HTTP_ADDRESS": f"127.0.0.1:{http_port}",
           "HOTGIGS_GRPC_ADDRESS": f"127.0.0.1:{grpc_base}",
           "HOTGIGS_ENVOY_ADMIN_ADDRESS": f"127.0.0.1:{admin_port}",
           "HOTGIGS_METRICS_ADDRESS": f"127.0.0.1:{metrics_port}",
           "HOTGIGS_ENVOY_ACCESS_LOG": str(tmp_path / "access.log")}
    env.pop("DATABASE_URL", None)
    env.pop("CACHE_REDIS_URL", None)
    process = subprocess.Popen([HOTGIGS, "up", "--workers", "2", "--observe"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        banner = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "Press Ctrl-C" not in banner:
            line = process.stdout.readline()
            if not line:
                break
            banner += line
        assert "(2 worker processes)" in banner, banner
        for port in (grpc_base, grpc_base + 1):
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                assert health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=5).status == \
                    health_pb2.HealthCheckResponse.SERVING
        for _ in range(6):
            assert httpx.get(f"http://127.0.0.1:{http_port}/api/health", timeout=10).status_code == 200
        for port in (metrics_port, metrics_port + 1):
            assert "grpc_server_handled_total" in httpx.get(
                f"http://127.0.0.1:{port}/metrics", timeout=10).text
        prometheus = banner.split("Prometheus", 1)[1].split()[0].rstrip("/")
        assert _scraped_workers(prometheus) == {f"127.0.0.1:{metrics_port}",
                                                f"127.0.0.1:{metrics_port + 1}"}
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
        if process.stdout is not None and not process.stdout.closed:
            process.communicate()
    assert process.returncode == 0, rest
    assert all(_port_is_free(port) for port in (http_port, grpc_base, grpc_base + 1, admin_port))


def _scraped_workers(prometheus: str) -> set[str]:
    """The hotgigs-api targets Prometheus scrapes successfully (once every one is up)."""
    deadline = time.monotonic() + 30
    while True:
        targets = httpx.get(f"{prometheus}/api/v1/targets", timeout=10).json()["data"]
        workers = [t for t in targets["activeTargets"] if t["labels"]["job"] == "hotgigs-api"]
        if (workers and all(t["health"] == "up" for t in workers)) or time.monotonic() > deadline:
            return {t["labels"]["instance"] for t in workers if t["health"] == "up"}
        time.sleep(0.5)
