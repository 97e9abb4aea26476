"""Health tells the truth when PostgreSQL goes down and comes back: a real server is stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import EmbeddedPostgres
from hotgigs.grpc_server.server import create_server
from hotgigs.health import checks
from tests.support.servers import make_settings, new_migrated_database, start_envoy


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, so stopping it harms no other test."""
    server = EmbeddedPostgres(tmp_path / "postgres")
    server.start()
    yield server
    server.stop("immediate")


def test_health_follows_the_database(own_postgres: EmbeddedPostgres, redis_url: str,
                                     tmp_path: Path) -> None:
    url = new_migrated_database(own_postgres)
    settings = make_settings(tmp_path)
    database, cache = Database(url, connect_timeout=2), Cache(redis_url)
    server = create_server(settings, database, cache)
    server.start()
    try:
        with start_envoy(settings, server.port, tmp_path / "envoy") as envoy, \
                httpx.Client(base_url=envoy.base_url, timeout=15) as rest, \
                grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)

            def grpc_status(service: str = "") -> int:
                request = health_pb2.HealthCheckRequest(service=service)
                return int(health.Check(request, timeout=5).status)

            up = rest.get("/api/health")
            assert up.status_code == 200
            assert up.json()["database"]["status"] == "up"

            own_postgres.stop("fast")
            # /api/health's checks are at most a second old: it turns 503 within that second.
            assert wait_until(lambda: rest.get("/api/health").status_code == 503)
            down = rest.get("/api/health")
            assert down.status_code == 503, down.text
            body = down.json()
            assert set(body) == set(up.json()), "same shape when unhealthy"
            assert body["status"] == "unhealthy"
            assert body["database"]["status"] == "down"
            assert body["cache"]["status"] == "up"
            assert wait_until(lambda: grpc_status() == health_pb2.HealthCheckResponse.NOT_SERVING)
            assert grpc_status("hotgigs.v1.JobService") == health_pb2.HealthCheckResponse.NOT_SERVING
            # the per-module routes answer from those statuses (issue 20)
            for module in ("analytics", "candidates", "documents", "jobs", "notifications"):
                module_down = rest.get(f"/api/{module}/health")
                assert module_down.status_code == 503, (module, module_down.text)
                assert module_down.json()["status"] == "unhealthy"

            own_postgres.start()
            assert wait_until(lambda: rest.get("/api/health").status_code == 200)
            assert wait_until(lambda: grpc_status() == health_pb2.HealthCheckResponse.SERVING)
            assert wait_until(lambda: rest.get("/api/jobs/health").status_code == 200)
    finally:
        server.stop(0)
        database.dispose()
        cache.close()


def test_health_checks_are_shared_for_a_second(database: Database, cache: Cache) -> None:
    """A flood of GET /api/health costs one ping per dependency per max_age, not per request."""
    now = [100.0]
    recent = checks.RecentCheck(database, cache, max_age=1.0, clock=lambda: now[0])
    first_time, first = recent.report()
    now[0] += 0.5
    assert recent.report() == (first_time, first)
    assert recent.report()[1] is first
    now[0] += 0.6
    later_time, later = recent.report()
    assert later is not first
    assert later_time >= first_time
    assert later.status == checks.HEALTHY


def test_a_stopped_server_leaves_no_connection_to_its_disposed_database(
        migrated_database_url: str, cache: Cache, tmp_path: Path) -> None:
    """The health monitor's check may be in its query when the server stops; `stop()` waits
    for it, so its connection is back in the pool when the owner disposes of the database.
    Before, it came back to the disposed pool afterwards and stayed open until the garbage
    collector found it (a psycopg ResourceWarning in whatever test ran then: the flake of
    tests/security/test_exposure.py). The check is held in its query by a hook on the real
    engine (SQLAlchemy's before_cursor_execute event), not by a stand-in."""
    database = Database(migrated_database_url)
    in_query, release = threading.Event(), threading.Event()

    @sa.event.listens_for(database.engine, "before_cursor_execute")
    def hold_the_monitors_check(*args: object) -> None:
        if threading.current_thread().name == "health-monitor":
            in_query.set()
            release.wait(10)

    server = create_server(make_settings(tmp_path, health_check_interval_seconds=0.05),
                           database, cache)
    server.start()
    assert in_query.wait(10), "the monitor's check never ran"
    releaser = threading.Timer(0.5, release.set)
    releaser.start()
    try:
        server.stop(0)
        disposed = database.engine.pool
        database.dispose()
        release.set()
        time.sleep(0.2)  # a check still running gives its connection back now
        assert disposed.checkedin() == 0 and disposed.checkedout() == 0, \
            "a connection went back to the disposed pool"
    finally:
        release.set()
        releaser.cancel()
        database.dispose()
