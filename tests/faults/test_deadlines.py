"""Deadlines propagate: a caller that stops waiting (its gRPC deadline, or Envoy's route
timeout, which Envoy passes on as grpc-timeout) stops the SQL its request was running."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import psycopg
import pytest

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.grpc_server.server import GrpcServer, create_server
from hotgigs.v1 import jobs_pb2, jobs_pb2_grpc
from tests.faults.support import employer_with_job, envoy_for, fault_settings, wait_until
from tests.support.servers import RunningEnvoy

ENVOY_TIMEOUT = 1.5  # HOTGIGS_REQUEST_TIMEOUT_SECONDS of this test's Envoy


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="module")
def deadline_stack(fault_database_url: str, fault_redis_url: str,
                   tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[GrpcServer, RunningEnvoy, dict[str, Any]]]:
    workdir = tmp_path_factory.mktemp("deadlines")
    settings = fault_settings(workdir, request_timeout_seconds=ENVOY_TIMEOUT)
    database, cache = Database(fault_database_url), Cache(fault_redis_url)
    server = create_server(settings, database, cache)
    server.start()
    try:
        with envoy_for(settings, [server.port], workdir / "envoy") as envoy, \
                httpx.Client(base_url=envoy.base_url, timeout=10) as rest:
            yield server, envoy, employer_with_job(rest)
    finally:
        server.stop(0)
        database.dispose()
        cache.close()


class LockedJobs:
    """Holds an ACCESS EXCLUSIVE lock on `jobs`, so any query of the table waits; counts the
    workers' statements waiting for it."""

    def __init__(self, url: str) -> None:
        self.url = _libpq(url)

    def __enter__(self) -> LockedJobs:
        self.holder = psycopg.connect(self.url)
        self.holder.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
        self.observer = psycopg.connect(self.url, autocommit=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.holder.rollback()
        self.holder.close()
        self.observer.close()

    def waiting(self) -> int:
        row = self.observer.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'hotgigs' AND wait_event_type = 'Lock'").fetchone()
        assert row is not None
        return int(row[0])


def test_a_grpc_deadline_cancels_the_query_it_was_waiting_for(
        deadline_stack: tuple[GrpcServer, RunningEnvoy, dict[str, Any]],
        fault_database_url: str) -> None:
    server, _, employer = deadline_stack
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        jobs = jobs_pb2_grpc.JobServiceStub(channel)
        request = jobs_pb2.GetJobRequest(id=employer["job_id"])
        with LockedJobs(fault_database_url) as locked:
            call = jobs.GetJob.future(request, timeout=1.0)
            assert wait_until(lambda: locked.waiting() == 1), "the query never waited"
            with pytest.raises(grpc.RpcError) as raised:
                call.result()
            assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            # The lock is still held: only a cancel on the server side ends the wait.
            assert wait_until(lambda: locked.waiting() == 0, timeout=10), \
                "the abandoned query still waits in PostgreSQL"
        assert jobs.GetJob(request, timeout=10).job.id == employer["job_id"], \
            "the connection whose query was cancelled is usable again"


def test_envoy_passes_its_timeout_on_and_the_worker_stops(
        deadline_stack: tuple[GrpcServer, RunningEnvoy, dict[str, Any]],
        fault_database_url: str) -> None:
    _, envoy, employer = deadline_stack
    with httpx.Client(base_url=envoy.base_url, timeout=10) as rest:
        with LockedJobs(fault_database_url) as locked:
            response = rest.get(f"/api/jobs/{employer['job_id']}")
            assert response.status_code == 504, response.text  # Envoy's route timeout
            assert response.json()["code"] == 4  # DEADLINE_EXCEEDED
            assert wait_until(lambda: locked.waiting() == 0, timeout=10), \
                "the worker kept waiting after Envoy gave up"
        assert rest.get(f"/api/jobs/{employer['job_id']}").status_code == 200
