"""Workers dying under load, two workers behind one Envoy (what `hotgigs up --workers 2` runs):
SIGKILL costs no GET (Envoy retries it on the other worker) and the supervisor restarts the
worker; SIGTERM to each worker in turn (a rolling restart) costs no request at all."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.dev import workers as dev_workers
from hotgigs.models import Job
from hotgigs.runtime import Dependencies
from hotgigs.settings import Address
from tests.faults.support import (
    JWT_SECRET,
    Load,
    Outcome,
    create_jobs,
    employer_with_job,
    envoy_for,
    fault_settings,
    get_job,
    healthy_upstreams,
    search_jobs,
    summary,
    wait_until,
)
from tests.support.servers import TEST_KEKS_ENV, RunningEnvoy

Workers = tuple[dev_workers.WorkerSupervisor, RunningEnvoy, dict[str, Any]]


@pytest.fixture(scope="module")
def workers(fault_database_url: str, fault_redis_url: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    workdir = tmp_path_factory.mktemp("workers")
    settings = fault_settings(workdir, grpc_address=Address("127.0.0.1", 0),
                              shutdown_grace_seconds=5.0)
    deps = Dependencies(fault_database_url, fault_redis_url, embedded_database=False,
                              embedded_redis=False)
    worker_env = {
        "JWT_SECRET_KEY": JWT_SECRET, "HOTGIGS_DATA_DIR": str(workdir),
        "HOTGIGS_ENCRYPTION_KEKS": TEST_KEKS_ENV, "HOTGIGS_LOG_LEVEL": "WARNING",
        "HOTGIGS_LOG_FORMAT": "json",
        "HOTGIGS_DRAIN_DELAY_SECONDS": str(settings.drain_delay_seconds),
        "HOTGIGS_SHUTDOWN_GRACE_SECONDS": str(settings.shutdown_grace_seconds),
        "HOTGIGS_HEALTH_CHECK_INTERVAL_SECONDS": "0.5",
        **{name: "1000000" for name in ("RATE_LIMIT_PER_MINUTE", "RATE_LIMIT_PER_HOUR",
                                        "AUTH_RATE_LIMIT_PER_MINUTE", "AUTH_RATE_LIMIT_PER_HOUR")},
    }
    with dev_workers.supervised_workers(settings, deps, 2, extra_env=worker_env) as supervisor, \
            envoy_for(settings, supervisor.ports, workdir / "envoy") as envoy, \
            httpx.Client(base_url=envoy.base_url, timeout=10) as rest:
        assert wait_until(lambda: healthy_upstreams(envoy) == 2)
        yield supervisor, envoy, employer_with_job(rest)


def _failures(outcomes: list[Outcome]) -> str:
    failed = [o for o in outcomes if not o.ok]
    return f"{len(failed)} of {len(outcomes)} failed: {summary(failed)}; first: " + \
        "; ".join(f"{o.label} {o.status} {o.body[:150]}" for o in failed[:3])


def _restart_and_wait(supervisor: dev_workers.WorkerSupervisor, envoy: RunningEnvoy, number: int,
                      sig: signal.Signals) -> tuple[float, float]:
    """Send `sig` to worker `number`; return when (monotonic) and the seconds until it is back
    in Envoy's rotation."""
    restarts, victim = supervisor.restarts, supervisor.pid(number)
    sent = time.monotonic()
    os.kill(victim, sig)
    assert wait_until(lambda: supervisor.restarts > restarts, timeout=30), "not restarted"
    supervisor.wait_ready(number, timeout=30)
    assert supervisor.pid(number) != victim
    assert wait_until(lambda: healthy_upstreams(envoy) == 2, timeout=20)
    return sent, time.monotonic() - sent


def test_a_killed_worker_fails_no_get_and_comes_back(workers: Workers) -> None:
    supervisor, envoy, employer = workers
    job, company = employer["job_id"], employer["company_id"]
    requests = [get_job(job), search_jobs(company), get_job(job), search_jobs(company)]
    with Load(envoy.base_url, requests) as load:
        load.wait_for_requests(40)
        killed_at, back_after = _restart_and_wait(supervisor, envoy, 0, signal.SIGKILL)
        load.wait_for_requests(40)
    outcomes = load.snapshot()
    failed = [o for o in outcomes if not o.ok]
    print(f"SIGKILL: {len(outcomes)} GETs, {len(failed)} failed, worker back in rotation after "
          f"{back_after:.1f}s")
    # Envoy retries every GET the dead worker had not started to answer. One whose answer had
    # begun (the worker sends its response headers a moment before the body and status) cannot
    # be retried: Envoy has committed to that response. Only such a GET, in flight at the kill,
    # may fail, as the API's JSON 503 with Retry-After.
    for outcome in failed:
        assert outcome.started <= killed_at <= outcome.finished, _failures(outcomes)
        assert outcome.status == 503 and '"code":14' in outcome.body, _failures(outcomes)
        assert outcome.retry_after is not None
    assert len(failed) <= len(requests), _failures(outcomes)


def test_sigterm_to_each_worker_in_turn_fails_nothing(workers: Workers,
                                                      fault_database_url: str) -> None:
    supervisor, envoy, employer = workers
    prefix = f"Rolling {uuid.uuid4().hex[:8]}"
    job, company = employer["job_id"], employer["company_id"]
    requests = [get_job(job), search_jobs(company), create_jobs(employer, prefix), get_job(job)]
    timings = []
    with Load(envoy.base_url, requests) as load:
        load.wait_for_requests(30)
        for number in range(2):
            timings.append(_restart_and_wait(supervisor, envoy, number, signal.SIGTERM)[1])
            load.wait_for_requests(30)
    outcomes = load.snapshot()
    print(f"SIGTERM: {len(outcomes)} requests ({summary(outcomes)}), workers back after "
          + ", ".join(f"{t:.1f}s" for t in timings))
    assert all(o.ok for o in outcomes), _failures(outcomes)
    acknowledged = {o.value for o in outcomes if o.label == "POST job"}
    assert acknowledged
    database = Database(fault_database_url)
    try:
        with database.session_scope() as session:
            stored = set(session.scalars(sa.select(Job.title).where(Job.title.like(f"{prefix}%"))))
    finally:
        database.dispose()
    assert acknowledged <= stored


def test_a_worker_that_keeps_dying_is_restarted_ever_more_slowly(tmp_path: Path) -> None:
    """The supervisor's backoff doubles while a worker dies soon after each start (here it
    cannot even read its configuration and exits at once)."""
    settings = fault_settings(tmp_path, grpc_address=Address("127.0.0.1", 0))
    deps = Dependencies("postgresql://127.0.0.1:1/none", "redis://127.0.0.1:1/0",
                              embedded_database=False, embedded_redis=False)
    supervisor = dev_workers.WorkerSupervisor(settings, deps, 1,
                                        extra_env={"HOTGIGS_GRPC_ADDRESS": "not-an-address"})
    supervisor.start(wait=False)
    try:
        assert wait_until(lambda: supervisor.restarts >= 2, timeout=30)
        # 0.5 s before the first restart, 1 s before the second, 2 s (or more) next
        assert supervisor.next_restart_delay(0) >= 4 * dev_workers.WORKER_RESTART_FIRST_DELAY
    finally:
        supervisor.stop()
