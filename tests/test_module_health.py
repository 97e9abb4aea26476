"""Per-module health routes (issue 20, item 3): `GET /api/<module>/health` answers from the
grpc.health.v1 status the server keeps for that module's service, 200 while SERVING, 503 with
the same body otherwise."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.grpc_server.server import GrpcServer, create_server
from hotgigs.v1 import jobs_pb2, jobs_pb2_grpc
from tests.support.servers import make_settings, start_envoy

MODULES = {"analytics": "AnalyticsService", "candidates": "CandidateService",
           "documents": "DocumentService", "jobs": "JobService",
           "notifications": "NotificationService"}
FIELDS = {"status", "service", "timestamp", "grpc_status"}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_serving_module_answers_healthy(module: str, rest: httpx.Client,
                                          grpc_channel: grpc.Channel) -> None:
    """Each module's route answers 200 with the original's fields, agreeing with what a
    grpc.health.v1 Check of the module's service answers on the same server."""
    checked = health_pb2_grpc.HealthStub(grpc_channel).Check(
        health_pb2.HealthCheckRequest(service=f"hotgigs.v1.{MODULES[module]}"), timeout=5)
    assert checked.status == health_pb2.HealthCheckResponse.SERVING
    answer = rest.get(f"/api/{module}/health")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == FIELDS
    assert body["status"] == "healthy"
    assert body["service"] == module
    assert body["grpc_status"] == "SERVING"
    stamp = dt.datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 60


def test_module_health_needs_no_token_and_ignores_a_bad_one(rest: httpx.Client) -> None:
    """Public like /api/health; a forged token is still refused (it is verified when sent)."""
    assert rest.get("/api/jobs/health").status_code == 200
    forged = rest.get("/api/jobs/health", headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401


def test_unknown_module_health_is_a_404(rest: httpx.Client) -> None:
    """Only the modules that had the route get it: no catch-all `/api/{module}/health`."""
    assert rest.get("/api/users/health").status_code in (400, 404)
    assert rest.get("/api/nonexistent/health").status_code == 404


@pytest.fixture
def own_server(database: Database, cache: Cache, tmp_path: Path) -> Iterator[GrpcServer]:
    """A server of this test's own, whose statuses it may change (the monitor re-checks only
    once an hour, so a status set here stays)."""
    settings = make_settings(tmp_path, health_check_interval_seconds=3600.0)
    server = create_server(settings, database, cache)
    server.start()
    yield server
    server.stop(0)


def test_a_module_not_serving_answers_503_with_the_same_body(own_server: GrpcServer,
                                                             tmp_path: Path) -> None:
    """A module whose grpc.health.v1 status is NOT_SERVING answers 503 with the same fields;
    the other modules are unaffected."""
    settings = make_settings(tmp_path)
    own_server.monitor.servicer.set("hotgigs.v1.JobService",
                                    health_pb2.HealthCheckResponse.NOT_SERVING)
    with start_envoy(settings, own_server.port, tmp_path / "envoy") as envoy, \
            httpx.Client(base_url=envoy.base_url, timeout=15) as rest:
        down = rest.get("/api/jobs/health")
        assert down.status_code == 503, down.text
        body = down.json()
        assert set(body) == FIELDS
        assert (body["status"], body["service"], body["grpc_status"]) == (
            "unhealthy", "jobs", "NOT_SERVING")
        assert rest.get("/api/documents/health").status_code == 200
        own_server.monitor.servicer.set("hotgigs.v1.JobService",
                                        health_pb2.HealthCheckResponse.SERVING)
        assert rest.get("/api/jobs/health").status_code == 200


def test_a_draining_server_reports_every_module_unhealthy(own_server: GrpcServer) -> None:
    """While draining (SIGTERM) every service is NOT_SERVING, and so is each module's health."""
    with grpc.insecure_channel(f"127.0.0.1:{own_server.port}") as channel:
        jobs = jobs_pb2_grpc.JobServiceStub(channel)
        assert jobs.GetJobsHealth(jobs_pb2.GetJobsHealthRequest(), timeout=5).status == "healthy"
        own_server.monitor.stop()
        answer, call = jobs.GetJobsHealth.with_call(jobs_pb2.GetJobsHealthRequest(), timeout=5)
        assert (answer.status, answer.grpc_status) == ("unhealthy", "NOT_SERVING")
        assert ("x-http-status", "503") in tuple(call.initial_metadata())
        checked = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="hotgigs.v1.JobService"), timeout=5)
        assert checked.status == health_pb2.HealthCheckResponse.NOT_SERVING
