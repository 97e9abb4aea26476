"""The Redis and host dashboards: a real Prometheus scrapes a real prometheus-node-exporter and
a real prometheus-redis-exporter (in front of the test Redis), with the scrape jobs of
prometheus.deploy.yml, and EVERY panel query of both dashboards returns data."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from hotgigs.dev import prometheus_local
from hotgigs.dev.embedded import EmbeddedRedis, free_port, wait_for_port

DASHBOARDS = Path(__file__).resolve().parents[2] / "observability" / "grafana" / "dashboards"
BOARDS = {"hotgigs-nodes.json": "node", "hotgigs-redis.json": "redis"}


@contextlib.contextmanager
def exporter(name: str, port: int, *args: str) -> Iterator[str]:
    """A Debian exporter (`make setup` installs it) on 127.0.0.1:`port`."""
    binary = shutil.which(name) or f"/usr/bin/{name}"
    assert Path(binary).exists(), f"{name} missing: `make setup` installs it"
    process = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}", *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port, 30, name)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)


@pytest.fixture(scope="module")
def prometheus(redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[str]:
    dead = f"127.0.0.1:{free_port()}"  # the app's jobs are not what this test is about
    with exporter("prometheus-node-exporter", free_port()) as node, \
            exporter("prometheus-redis-exporter", free_port(),
                     f"--redis.addr={redis_server.url}") as redis_exporter, \
            prometheus_local.run(
                {"hotgigs-api": dead, "hotgigs-envoy": dead, "node": node, "redis": redis_exporter},
                tmp_path_factory.mktemp("prometheus-exporters"), free_port(), interval="1s",
                jobs=[prometheus_local.deploy_job("node"), prometheus_local.deploy_job("redis")]
            ) as url:
        yield url


def panel_queries() -> list[tuple[str, str]]:
    found = []
    for name, job in BOARDS.items():
        board = json.loads((DASHBOARDS / name).read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = target["expr"].replace("$__rate_interval", "1m").replace("$job", job)
                found.append((f"{name}: {panel['title']}", expr))
    return found


def test_every_redis_and_node_panel_returns_data(prometheus: str, redis_server: EmbeddedRedis
                                                 ) -> None:
    client = redis.Redis.from_url(redis_server.url)
    pending = dict(panel_queries())
    assert len(pending) >= 15
    deadline = time.monotonic() + 90
    while pending and time.monotonic() < deadline:
        # some hits, misses and an expiring key, as the app's caches make
        client.set("dashboard-test:key", "1", px=500)
        client.get("dashboard-test:key")
        client.get("dashboard-test:missing")
        for name, expr in list(pending.items()):
            body = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10).json()
            assert body["status"] == "success", (name, body)
            if body["data"]["result"]:
                del pending[name]
        time.sleep(1)
    client.close()
    assert not pending, f"no data for: {sorted(pending)}"
