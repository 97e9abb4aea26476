"""Operations routes through Envoy (issue 20, item 4): performance figures, cache clearing
(every generation bumped, audited) and the materialized-view refresh, for admins only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import sqlalchemy as sa

from hotgigs import manifest
from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import free_port
from hotgigs.grpc_server.server import create_server
from hotgigs.models import AuditEntry, Job
from hotgigs.notifications import live
from hotgigs.replica import generations as replica_generations
from hotgigs.v1 import operations_pb2, operations_pb2_grpc
from tests import factories
from tests.support.rest import admin as make_admin
from tests.support.rest import bearer, register
from tests.support.servers import RunningEnvoy, make_settings

ROUTES = [("GET", "/api/performance"), ("GET", "/api/jobs/performance"),
          ("POST", "/api/cache/clear"), ("POST", "/api/cache/refresh-materialized-views")]


@pytest.fixture(scope="module")
def admin(envoy: RunningEnvoy, database: Database) -> dict[str, Any]:
    with httpx.Client(base_url=envoy.base_url, timeout=10) as client:
        return make_admin(client, database)


def _call(rest: httpx.Client, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    return rest.request(method, path, headers=headers, **({"json": {}} if method == "POST" else {}))


def _generations(cache: Cache) -> dict[str, int]:
    return {key: int(cache.client.get(key) or 0) for key in manifest.CACHE_GENERATIONS}


@pytest.mark.parametrize("role", ["candidate", "company", "recruiter"])
def test_everyone_but_admins_is_refused(role: str, rest: httpx.Client, cache: Cache) -> None:
    """403 for every other role, 401 without a token; a refused clear bumps nothing."""
    account = register(rest, role)
    before = _generations(cache)
    for method, path in ROUTES:
        refused = _call(rest, method, path, bearer(account))
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["code"] == 7
        assert _call(rest, method, path, {}).status_code == 401, path
    assert _generations(cache) == before


def test_performance_figures(rest: httpx.Client, admin: dict[str, Any]) -> None:
    """Pool, buffer cache hit ratio, statement counts and answer caches; without
    pg_stat_statements (the test database has none) the answer says so."""
    rest.get("/api/jobs", params={"search": "performance figures"})
    answer = rest.get("/api/performance", headers=bearer(admin))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"timestamp", "pool", "database", "query_counts", "slow_queries",
                         "answer_caches"}
    assert body["pool"]["size"] >= 1
    assert 1 <= body["pool"]["in_use"] <= body["pool"]["size"] + body["pool"]["overflow"]
    assert 0 < body["database"]["cache_hit_ratio"] <= 1
    assert int(body["database"]["blocks_hit"]) > 0
    assert int(body["database"]["transactions_committed"]) > 0
    assert body["database"]["connections"] >= 1
    counts = body["query_counts"]
    assert int(counts["total"]) >= int(counts["select"]) > 0
    assert int(counts["total"]) == sum(int(counts[kind]) for kind in
                                       ("select", "insert", "update", "delete", "other"))
    assert counts["mean_ms"] > 0
    slow = body["slow_queries"]
    assert slow["available"] is False and slow["slowest"] == []
    assert "pg_stat_statements is not installed" in slow["note"]
    caches = {cache["name"]: cache for cache in body["answer_caches"]}
    assert set(caches) == {"job_search", "analytics"}
    assert int(caches["job_search"]["hits"]) + int(caches["job_search"]["misses"]) >= 1


def test_jobs_performance_figures(rest: httpx.Client, admin: dict[str, Any],
                                  database: Database) -> None:
    """The jobs table's scans and rows and each index's use, the search cache."""
    owner = factories.owner(rest)
    factories.job(rest, owner)
    rest.get("/api/jobs", params={"search": "jobs performance"})
    answer = rest.get("/api/jobs/performance", headers=bearer(admin))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    with database.engine.connect() as connection:  # PostgreSQL's counters only grow
        seq_scan, idx_scan = connection.execute(sa.text(
            "SELECT seq_scan, idx_scan FROM pg_stat_user_tables WHERE relname = 'jobs'")).one()
    assert 0 <= int(body["sequential_scans"]) <= seq_scan
    assert 0 <= int(body["index_scans"]) <= idx_scan
    assert int(body["live_rows"]) >= 0
    names = {index["name"] for index in body["indexes"]}
    assert {"idx_jobs_search", "idx_jobs_salary"} <= names
    assert all(int(index["size_bytes"]) > 0 for index in body["indexes"])
    assert body["search_cache"]["name"] == "job_search"
    assert body["slow_queries"]["available"] is False


@pytest.mark.parametrize("limit", ["0", "51", "-1"])
def test_the_slow_statement_limit_is_bounded(limit: str, rest: httpx.Client,
                                             admin: dict[str, Any]) -> None:
    for path in ("/api/performance", "/api/jobs/performance"):
        refused = rest.get(path, params={"limit": limit}, headers=bearer(admin))
        assert refused.status_code == 400, refused.text
        assert "limit" in refused.text
    assert rest.get("/api/performance", params={"limit": "50"}, headers=bearer(admin)).status_code == 200


def test_clear_bumps_every_generation_and_is_audited(rest: httpx.Client, admin: dict[str, Any],
                                                     cache: Cache, database: Database) -> None:
    """A search answer cached while the database changed behind the API's back (no generation
    bump) stays stale until the cache is cleared; then the change shows. Audited."""
    owner = factories.owner(rest)
    job = factories.job(rest, owner)
    word = f"zq{uuid.uuid4().hex[:10]}"
    search = {"search": word}
    assert rest.get("/api/jobs", params=search).json()["pagination"]["total"] == 0
    with database.session_scope() as session:  # behind the API's back: nothing invalidated
        session.execute(sa.update(Job).where(Job.id == job["id"]).values(title=f"Engineer {word}"))
    assert rest.get("/api/jobs", params=search).json()["pagination"]["total"] == 0  # cached
    before = _generations(cache)
    for key in before:  # as a worker with a read replica records them
        cache.client.set(replica_generations.lsn_key(key), 1)
    answer = rest.post("/api/cache/clear", headers=bearer(admin), json={})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert sorted(body["generations"]) == sorted(manifest.CACHE_GENERATIONS)
    assert set(body["caches"]) == {"job_search", "analytics"}
    assert body["message"].startswith("Cache cleared: 2 cache generations bumped")
    after = _generations(cache)
    assert all(after[key] == before[key] + 1 for key in before)
    # the WAL positions a read replica's answers are checked against go with them
    assert [key for key in before if cache.client.exists(replica_generations.lsn_key(key))] == []
    assert rest.get("/api/jobs", params=search).json()["pagination"]["total"] == 1
    with database.session_scope() as session:
        entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "cache.clear")
                                .order_by(AuditEntry.id.desc()).limit(1)).one()
        assert entry.actor_user_id == admin["user"]["id"]
        assert entry.details == {"generations": after, "via": "api"}


def test_clear_also_drops_cached_analytics(rest: httpx.Client, admin: dict[str, Any],
                                           database: Database) -> None:
    """Analytics answers (15 s, per caller) have a generation too, so a clear reaches them."""
    candidate = register(rest, "candidate")
    owner = factories.owner(rest)
    job = factories.job(rest, owner)
    first = rest.get("/api/analytics/dashboard", headers=bearer(candidate)).json()
    factories.application(rest, candidate, job["id"])  # invalidates no analytics answer
    assert rest.get("/api/analytics/dashboard", headers=bearer(candidate)).json() == first
    assert rest.post("/api/cache/clear", headers=bearer(admin), json={}).status_code == 200
    assert rest.get("/api/analytics/dashboard", headers=bearer(candidate)).json() != first


def test_refresh_says_nothing_is_precomputed(rest: httpx.Client, admin: dict[str, Any],
                                            database: Database) -> None:
    answer = rest.post("/api/cache/refresh-materialized-views", headers=bearer(admin), json={})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["refreshed"] == []
    assert body["message"].startswith("Nothing to refresh: the analytics read model precomputes nothing")
    with database.session_scope() as session:
        entry = session.scalars(sa.select(AuditEntry)
                                .where(AuditEntry.action == "cache.refresh_views")
                                .order_by(AuditEntry.id.desc()).limit(1)).one()
        assert entry.actor_user_id == admin["user"]["id"]
        assert entry.details["refreshed"] == []


@pytest.fixture
def server_without_redis(database: Database, cache: Cache, tmp_path: Path) -> Iterator[int]:
    """A server of this test's own whose Redis is a port nobody listens on."""
    own = make_settings(tmp_path)
    dead = Cache(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2)
    server = create_server(own, database, dead)
    server.start()
    try:
        yield server.port
    finally:
        server.stop(0)
        dead.close()
        live.install(live.LiveFeed(cache))  # the process-wide feed: the session server's again


def test_clear_with_redis_down_is_503_and_not_audited(server_without_redis: int,
                                                      admin: dict[str, Any],
                                                      database: Database) -> None:
    with database.session_scope() as session:
        audited = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.action == "cache.clear"))
    with grpc.insecure_channel(f"127.0.0.1:{server_without_redis}") as channel:
        stub = operations_pb2_grpc.OperationsServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.ClearCache(operations_pb2.ClearCacheRequest(), timeout=10, metadata=(
                ("authorization", f"Bearer {admin['access_token']}"),))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "nothing was cleared" in (refused.value.details() or "")
    with database.session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "cache.clear")) == audited


def test_every_answer_cache_has_a_generation_to_bump() -> None:
    """A cache group without a generation could not be cleared: every declaration has one."""
    declared = [rpc.cached for rpc in manifest.RPCS.values() if rpc.cached is not None]
    assert declared and all(cached.generation for cached in declared)
    assert set(manifest.CACHE_GENERATIONS) == {cached.generation for cached in declared}
    assert manifest.CACHE_NAMES == ("analytics", "job_search")
