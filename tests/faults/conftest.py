"""Fixtures of the fault-injection tests: a Redis of their own (their load would fill the rate
limit windows the other tests share on the session's Redis) and a database of their own on the
session's PostgreSQL server (tests that stop PostgreSQL or Redis start servers of their own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hotgigs.dev.embedded import EmbeddedPostgres, EmbeddedRedis
from hotgigs.notifications import live
from hotgigs.telemetry import metrics
from tests.support.servers import new_migrated_database


@pytest.fixture(scope="package", autouse=True)
def _keep_process_globals() -> Iterator[None]:
    """The newest server of a process installs the live feed and the scrape-time gauges'
    database; these tests start servers on PostgreSQL and Redis they then kill, so the
    session's are put back afterwards for the tests that follow."""
    feed, database, pool = live.feed(), metrics.SOURCES.database, metrics.SOURCES.pool
    yield
    live.install(feed)
    metrics.SOURCES.database, metrics.SOURCES.pool = database, pool


@pytest.fixture(scope="package")
def fault_database_url(embedded_postgres: EmbeddedPostgres) -> str:
    return new_migrated_database(embedded_postgres)


@pytest.fixture(scope="package")
def fault_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("fault-redis"))
    server.start()
    yield server.url
    server.stop()
