"""The read replica (DATABASE_REPLICA_URL) against a REAL hot standby: a second embedded
PostgreSQL cloned from this module's primary with `pg_basebackup -R` through a replication
slot, streaming from it. Public search and analytics run there; the primary answers when the
standby is stopped (within a bounded time) or its replay is paused behind writes; an answer read
on a standby that missed a change is never cached under the generation that change made."""

from __future__ import annotations

import dataclasses
import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import prometheus_client
import psycopg
import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from hotgigs import manifest
from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import EmbeddedPostgres, EmbeddedRedis
from hotgigs.grpc_server.server import GrpcServer, create_server
from hotgigs.jobs import policy
from hotgigs.jobs.totals import key_prefix as totals_key_prefix
from hotgigs.replica import generations
from hotgigs.replica.router import DOWN, LAGGING, UP, ReadReplica
from hotgigs.v1 import jobs_pb2, jobs_pb2_grpc
from tests import factories
from tests.support.rest import bearer
from tests.support.servers import make_settings, new_migrated_database, start_envoy

OUTCOMES = ("replica", "fallback_down", "fallback_lag")
GENERATION = policy.SEARCH_CACHE.generation


def counts() -> dict[str, float]:
    """hotgigs_read_replica_queries_total by outcome, now."""
    return {outcome: prometheus_client.REGISTRY.get_sample_value(
        "hotgigs_read_replica_queries_total", {"outcome": outcome}) or 0.0
        for outcome in OUTCOMES}


def grown(before: dict[str, float]) -> dict[str, float]:
    now = counts()
    return {outcome: now[outcome] - before[outcome] for outcome in OUTCOMES}


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def superuser(server: EmbeddedPostgres) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres",
                           autocommit=True)


@dataclasses.dataclass
class Stack:
    primary: EmbeddedPostgres
    standby: EmbeddedPostgres
    database_name: str
    router: ReadReplica
    server: GrpcServer
    rest: httpx.Client
    stub: jobs_pb2_grpc.JobServiceStub
    redis: redis.Redis

    def search(self, term: str | None = None) -> httpx.Response:
        """A public search over REST; a fresh term each time, so the answer cache misses."""
        response = self.rest.get("/api/jobs", params={"search": term or uuid.uuid4().hex[:12]})
        assert response.status_code == 200, response.text
        return response

    def jobs_scans(self, server: EmbeddedPostgres) -> int:
        """Scans of the jobs table `server` counted (its own statistics: a standby's count the
        queries run on it)."""
        with psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres "
                             f"dbname={self.database_name}", autocommit=True) as conn:
            row = conn.execute("SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) "
                               "FROM pg_stat_user_tables WHERE relname = 'jobs'").fetchone()
        return int(row[0]) if row else 0

    def replay(self, *, paused: bool) -> None:
        with superuser(self.standby) as conn:
            conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("replica")
    primary = EmbeddedPostgres(root / "primary")
    primary.start()
    standby = EmbeddedPostgres(root / "standby")
    valkey = EmbeddedRedis(root / "redis")  # its own: nothing else bumps or caches here
    try:
        url = new_migrated_database(primary)
        standby.clone_as_standby(primary, slot="hotgigs_read_replica")
        standby.start()
        valkey.start()
        replica_url = make_url(url).set(port=standby.port).render_as_string(hide_password=False)
        settings = make_settings(root / "app", database_replica_url=replica_url,
                                 database_replica_check_seconds=0.1,
                                 auth_rate_limit_per_minute=100_000, auth_rate_limit_per_hour=100_000,
                                 rate_limit_per_minute=100_000, rate_limit_per_hour=100_000)
        database, cache = Database(url), Cache(valkey.url)
        router = ReadReplica.from_settings(settings, database, cache=cache,
                                           generations=manifest.CACHE_GENERATIONS)
        assert router is not None
        server = create_server(settings, database, cache, replica=router)
        router.start()
        server.start()
        try:
            with start_envoy(settings, server.port, root / "envoy") as envoy, \
                    httpx.Client(base_url=envoy.base_url, timeout=15) as rest, \
                    grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                yield Stack(primary, standby, make_url(url).database or "", router, server, rest,
                            jobs_pb2_grpc.JobServiceStub(channel), cache.client)
        finally:
            server.stop(0)
            router.dispose()
            database.dispose()
            cache.close()
    finally:
        valkey.stop()
        standby.stop("immediate")
        primary.stop("immediate")


@pytest.fixture
def healthy(stack: Stack) -> Iterator[Stack]:
    """The stack with the standby running, replaying and caught up; left so afterwards."""
    assert wait_until(lambda: stack.router.state == UP), stack.router.state
    yield stack
    if stack.standby.running_port() is None:
        stack.standby.start()
    stack.replay(paused=False)
    stack.router.max_lag_seconds = 10.0
    assert wait_until(lambda: stack.router.state == UP)


def test_public_search_and_analytics_run_on_the_replica(healthy: Stack) -> None:
    """A job written on the primary is found by searches the standby answers: the metric
    counts `replica`, and the standby's own statistics count the scans of the jobs table."""
    stack = healthy
    owner, job = factories.owner_with_job(stack.rest, title="Replica Lighthouse Keeper")
    scans_before = stack.jobs_scans(stack.standby)
    before = counts()
    # misses until the standby has replayed the job (answers without it are not cached)
    assert wait_until(lambda: any(found["id"] == job["id"] for found in stack.search(
        "Lighthouse Keeper").json()["jobs"]))
    served = grown(before)
    assert served["replica"] >= 1 and served["fallback_down"] == served["fallback_lag"] == 0
    assert wait_until(lambda: stack.jobs_scans(stack.standby) > scans_before)

    before = counts()
    dashboard = stack.rest.get("/api/analytics/dashboard", headers=bearer(owner))
    assert dashboard.status_code == 200, dashboard.text
    assert grown(before) == {"replica": 1, "fallback_down": 0, "fallback_lag": 0}


def test_an_idle_primary_is_no_lag(healthy: Stack) -> None:
    """With no writes for longer than the allowed lag, the standby is still caught up (its
    replayed position is the primary's), though the age of its last replayed commit, the
    naive measure, has passed the limit."""
    stack = healthy
    stack.router.max_lag_seconds = 1.0
    time.sleep(1.5)
    assert stack.router.state == UP
    assert stack.router.lag_seconds < 1.0
    with superuser(stack.standby) as conn:
        naive = conn.execute("SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
                             ).fetchone()
    assert naive is not None and float(naive[0]) > 1.0


def test_a_stopped_replica_falls_back_to_the_primary_quickly(healthy: Stack) -> None:
    """Searches keep answering, from the primary, at once after the standby stops (the first
    read finds its pooled connections dead and runs again on the primary; later ones skip it
    while the monitor finds it down), and go back to it once it is up again."""
    stack = healthy
    stack.search()  # a replica connection in the pool, as under traffic
    stack.standby.stop("fast")
    before = counts()
    for _ in range(5):
        started = time.monotonic()
        stack.search()
        assert time.monotonic() - started < 2.0
    assert grown(before) == {"replica": 0, "fallback_down": 5, "fallback_lag": 0}
    assert wait_until(lambda: stack.router.state == DOWN, timeout=5)

    stack.standby.start()
    assert wait_until(lambda: stack.router.state == UP)
    before = counts()
    stack.search()
    assert grown(before)["replica"] == 1


def test_a_lagging_replica_falls_back_until_it_catches_up(healthy: Stack) -> None:
    """Replay paused on the standby and a write on the primary: once the lag passes the
    setting, searches run on the primary (`fallback_lag`); replay resumed, back on the standby."""
    stack = healthy
    stack.router.max_lag_seconds = 1.0
    stack.replay(paused=True)
    factories.owner(stack.rest)  # writes on the primary the standby does not replay
    assert wait_until(lambda: stack.router.state == LAGGING, timeout=10)
    assert stack.router.lag_seconds > 1.0
    before = counts()
    stack.search()
    assert grown(before) == {"replica": 0, "fallback_down": 0, "fallback_lag": 1}

    stack.replay(paused=False)
    assert wait_until(lambda: stack.router.state == UP)
    before = counts()
    stack.search()
    assert grown(before) == {"replica": 1, "fallback_down": 0, "fallback_lag": 0}


def test_a_stale_replica_answer_is_not_cached_under_the_new_generation(healthy: Stack) -> None:
    """A job published (generation bumped, with the primary's WAL position) while the standby
    does not replay, then searched on the standby: the answer and its counted total are stale
    and must not be stored under the new generation; once the standby has replayed the change,
    both are cached again."""
    stack = healthy
    stack.router.max_lag_seconds = 600.0  # keep reading on the lagging standby
    owner = factories.owner(stack.rest)
    term = f"Zebra{uuid.uuid4().hex[:8]}"
    older = [factories.job(stack.rest, owner, title=f"{term} Keeper {n}")["id"] for n in (1, 2)]
    stack.replay(paused=True)
    newest = factories.job(stack.rest, owner, title=f"{term} Keeper 3")["id"]
    generation = int(stack.redis.get(GENERATION) or 0)
    required = generations.parse(stack.redis.get(generations.lsn_key(GENERATION)))
    assert required is not None
    assert wait_until(lambda: stack.router.check() == UP)
    assert (stack.router.replayed_lsn or 0) < required, "the standby has not replayed the job"

    # a page of one: the total is counted (and kept in the totals store) besides the page
    request = jobs_pb2.SearchJobsRequest(search=term, limit=1, sort_by="created_at", order="asc")
    key = (f"{policy.SEARCH_CACHE.prefix}{generation}:"
           f"{hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()}")
    totals = f"{totals_key_prefix(GENERATION)}{generation}:*"
    before = counts()
    stale = stack.stub.SearchJobs(request, timeout=10)
    assert grown(before)["replica"] == 1
    assert stale.pagination.total == 2, "the standby's answer misses the new job"
    assert stack.redis.get(key) is None, "a stale answer was cached under the new generation"
    assert list(stack.redis.scan_iter(totals)) == [], "a stale total was kept"
    assert int(stack.redis.get(GENERATION) or 0) == generation

    stack.replay(paused=False)
    assert wait_until(lambda: (stack.router.replayed_lsn or 0) >= required)
    before = counts()
    fresh = stack.stub.SearchJobs(request, timeout=10)
    assert grown(before)["replica"] == 1
    assert fresh.pagination.total == 3 and [found.id for found in fresh.jobs] == older[:1]
    cached = stack.redis.get(key)
    assert cached is not None and jobs_pb2.SearchJobsResponse.FromString(cached) == fresh
    assert len(list(stack.redis.scan_iter(totals))) == 1
    assert newest not in older


def test_a_dead_replica_host_costs_a_bounded_check_and_no_request_time(
        database: Database, tmp_path: Path) -> None:
    """A replica address nothing answers at: the check gives up within the connect timeout,
    and reads run on the primary at once, counted `fallback_down`."""
    dead = Database("postgresql+psycopg://hotgigs@192.0.2.1:5432/hotgigs", connect_timeout=2)
    router = ReadReplica(database, dead, check_seconds=60)
    try:
        started = time.monotonic()
        assert router.check() == DOWN
        assert time.monotonic() - started < 5.0
        before = counts()
        started = time.monotonic()
        assert router.read(lambda connection: connection.execute(sa.text("SELECT 1")).scalar()) == 1
        assert time.monotonic() - started < 0.5
        assert grown(before) == {"replica": 0, "fallback_down": 1, "fallback_lag": 0}
    finally:
        router.dispose()


class TestGenerations:
    """The WAL positions kept next to generations, on a real Redis."""

    @pytest.fixture
    def keys(self, cache: Cache) -> tuple[generations.Generations, str]:
        return generations.Generations(cache), f"test:replica:{uuid.uuid4().hex}"

    def test_a_bump_raises_a_known_position_and_never_lowers_it(
            self, cache: Cache, keys: tuple[generations.Generations, str]) -> None:
        tracked, generation = keys
        assert tracked.seed(generation, lambda: 100)
        tracked.bump(generation, 250)
        tracked.bump(generation, 200)  # committed earlier, bumped later
        assert cache.client.get(generations.lsn_key(generation)) == b"250"
        assert cache.client.get(generation) == b"2"

    def test_an_unknown_position_stays_unknown_until_seeded(
            self, cache: Cache, keys: tuple[generations.Generations, str]) -> None:
        """A bump without a position (or before any seed) leaves none: replica answers are not
        stored until the monitor seeds one read after it saw the generation."""
        tracked, generation = keys
        tracked.bump(generation, 300)
        assert cache.client.get(generations.lsn_key(generation)) is None
        assert tracked.seed(generation, lambda: 400)
        tracked.bump(generation, None)  # a worker without a replica, or an unreadable position
        assert cache.client.get(generations.lsn_key(generation)) is None

    def test_a_seed_loses_to_a_bump_in_between(
            self, cache: Cache, keys: tuple[generations.Generations, str]) -> None:
        tracked, generation = keys

        def position_while_a_change_lands() -> int:
            tracked.bump(generation, 999)  # committed after the seed saw the generation
            return 500

        assert not tracked.seed(generation, position_while_a_change_lands)
        assert cache.client.get(generations.lsn_key(generation)) is None
        assert tracked.seed(generation, lambda: 1000)
        assert not tracked.seed(generation, lambda: 2000)  # already known: kept
        assert cache.client.get(generations.lsn_key(generation)) == b"1000"

    @pytest.mark.parametrize(("required", "replayed", "storable"), [
        (None, None, True), (500, None, True),  # read on the primary
        (None, 900, False), (500, 499, False), (500, 500, True), (500, 0, False)])
    def test_storable(self, required: int | None, replayed: int | None, storable: bool) -> None:
        assert generations.storable(required, replayed) is storable
