"""Redis killed under load: the service keeps answering (answer caches bypassed, rate limits
fall back to a per-process limiter, idempotency keys not enforced, sessions checked in
PostgreSQL) and uses Redis again once it is back."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import redis

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import EmbeddedRedis
from hotgigs.grpc_server.server import create_server
from tests.faults.support import (
    Load,
    Request,
    create_jobs,
    employer_with_job,
    envoy_for,
    fault_settings,
    get_job,
    job_payload,
    search_jobs,
    summary,
    wait_until,
)
from tests.support.rest import bearer


def who_am_i(account: dict[str, Any]) -> Request:
    def request(client: httpx.Client, number: int) -> tuple[str, httpx.Response, Any]:
        return "GET me", client.get("/api/auth/me", headers=bearer(account)), None
    return request


def _rate_limit_keys(url: str) -> int:
    try:
        with redis.Redis.from_url(url, socket_timeout=1) as client:
            return len(client.keys("hg:rl:*"))
    except redis.RedisError:
        return 0


def test_redis_killed_under_load(tmp_path: Path, fault_database_url: str) -> None:
    redis_server = EmbeddedRedis(tmp_path / "redis")
    redis_server.start()
    settings = fault_settings(tmp_path)
    database, cache = Database(fault_database_url), Cache(redis_server.url)
    server = create_server(settings, database, cache)
    server.start()
    try:
        with envoy_for(settings, [server.port], tmp_path / "envoy") as envoy, \
                httpx.Client(base_url=envoy.base_url, timeout=10) as rest:
            employer = employer_with_job(rest)
            job, company = employer["job_id"], employer["company_id"]
            prefix = f"Redis {uuid.uuid4().hex[:8]}"
            requests = [get_job(job), search_jobs(company), create_jobs(employer, prefix),
                        who_am_i(employer)]
            with Load(envoy.base_url, requests) as load:
                load.wait_for_requests(20)
                assert redis_server.process is not None
                redis_server.process.send_signal(signal.SIGKILL)
                redis_server.stop()
                down_from = time.monotonic()
                load.wait_for_requests(40)
                health = rest.get("/api/health")
                assert health.status_code == 200, health.text
                assert health.json()["status"] == "degraded"
                assert health.json()["cache"]["status"] == "down"
                down_until = time.monotonic()
                redis_server.start()  # same port, as a restarted server would be
                assert wait_until(lambda: _rate_limit_keys(redis_server.url) > 0), \
                    "the workers did not use Redis again"
                back_after = time.monotonic() - down_until
                load.wait_for_requests(20)
            outcomes = load.snapshot()

            key = {"Idempotency-Key": uuid.uuid4().hex}
            payload = job_payload(employer, f"{prefix} replay")
            replay = rest.post("/api/jobs", headers={**bearer(employer), **key}, json=payload)
            again = rest.post("/api/jobs", headers={**bearer(employer), **key}, json=payload)
    finally:
        server.stop(0)
        database.dispose()
        cache.close()
        redis_server.stop()

    down = [o for o in outcomes if o.started >= down_from and o.finished <= down_until]
    print(f"Redis outage: {len(outcomes)} requests ({summary(outcomes)}), {len(down)} while "
          f"Redis was down; Redis in use again {back_after:.1f}s after it returned")
    assert down
    failed = [o for o in outcomes if not o.ok]
    assert not failed, summary(failed) + " " + failed[0].body
    assert replay.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replay") == "true", "idempotency keys work again"
    assert again.json() == replay.json()
