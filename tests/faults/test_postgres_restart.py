"""PostgreSQL restarted under load: while it is down requests fail fast with a JSON 503 and
Retry-After (not a hang, not a 500), they recover by themselves once it is back, and every
write that was acknowledged with 201 is in the database afterwards."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import EmbeddedPostgres
from hotgigs.grpc_server.server import create_server
from hotgigs.models import Job
from tests.faults.support import (
    Load,
    create_jobs,
    employer_with_job,
    envoy_for,
    fault_settings,
    get_job,
    summary,
    wait_until,
)
from tests.support.servers import new_migrated_database

CLIENT_TIMEOUT = 10.0


def test_postgres_restart_under_load(tmp_path: Path, fault_redis_url: str) -> None:
    postgres = EmbeddedPostgres(tmp_path / "postgres")
    postgres.start()
    try:
        url = new_migrated_database(postgres)
        settings = fault_settings(tmp_path)
        database, cache = Database(url, connect_timeout=2), Cache(fault_redis_url)
        server = create_server(settings, database, cache)
        server.start()
        try:
            with envoy_for(settings, [server.port], tmp_path / "envoy") as envoy, \
                    httpx.Client(base_url=envoy.base_url, timeout=CLIENT_TIMEOUT) as rest:
                employer = employer_with_job(rest)
                job = employer["job_id"]
                prefix = f"Restart {uuid.uuid4().hex[:8]}"
                requests = [get_job(job), create_jobs(employer, prefix), get_job(job),
                            create_jobs(employer, prefix)]
                with Load(envoy.base_url, requests, timeout=CLIENT_TIMEOUT) as load:
                    load.wait_for_requests(20)
                    postgres.stop("fast")
                    down_from = time.monotonic()
                    load.wait_for_requests(40)
                    down_until = time.monotonic()
                    postgres.start()
                    assert wait_until(lambda: rest.get(f"/api/jobs/{job}").status_code == 200)
                    recovered_after = time.monotonic() - down_until
                    recovered_from = time.monotonic()
                    load.wait_for_requests(40)
            outcomes = load.snapshot()
        finally:
            server.stop(0)
            database.dispose()
            cache.close()

        print(f"PostgreSQL restart: {len(outcomes)} requests ({summary(outcomes)}); "
              f"answering again {recovered_after:.1f}s after the restart")
        unexpected = [o for o in outcomes if o.status not in (200, 201, 503)]
        assert not unexpected, summary(unexpected) + " " + unexpected[0].body
        down = [o for o in outcomes if o.started >= down_from and o.finished <= down_until]
        assert down, "no request ran while PostgreSQL was down"
        assert all(o.status == 503 for o in down), summary(down)
        for outcome in down:
            assert outcome.retry_after is not None
            assert '"code":14' in outcome.body, outcome.body  # UNAVAILABLE, the API's error model
        after = [o for o in outcomes if o.started >= recovered_from]
        assert after and all(o.ok for o in after), summary(after)

        acknowledged = {o.value for o in outcomes if o.status == 201}
        assert acknowledged
        check = Database(url)
        try:
            with check.session_scope() as session:
                stored = set(session.scalars(sa.select(Job.title)
                                             .where(Job.title.like(f"{prefix}%"))))
        finally:
            check.dispose()
        assert acknowledged <= stored, f"lost: {sorted(acknowledged - stored)[:5]}"
    finally:
        postgres.stop("immediate")
