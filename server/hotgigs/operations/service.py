"""Operations for admins: database performance figures and answer-cache maintenance.

Figures come from PostgreSQL's statistics views (operations/queries.py), this worker's
connection pool and its Prometheus counters (`hotgigs.telemetry.metrics`). pg_stat_statements
is optional: when it is not installed, or installed but not loaded
(`shared_preload_libraries`), the answer says so instead of listing statements.

Clearing the cache bumps the generation of every cache group (`hotgigs.manifest`'s
`CACHE_GENERATIONS`, handed over by the servicer): the next look-up of every worker misses,
and old entries expire on their own. Both cache operations leave an audit log entry in the
same transaction (through the service-accounts module, which owns the audit log).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.analytics import service as analytics_service
from hotgigs.audit import service as audit_service
from hotgigs.cache import Cache
from hotgigs.context import Principal
from hotgigs.core import pagination
from hotgigs.core.rpc import ADMIN
from hotgigs.db import Database, Reader
from hotgigs.errors import PermissionDenied, Unavailable
from hotgigs.operations import queries
from hotgigs.replica import generations as replica_generations
from hotgigs.telemetry import metrics
from hotgigs.validation import Validator

SLOW_DEFAULT, SLOW_MAX = 10, 50
QUERY_TEXT_MAX = 500
NOTE_MAX = 300
JOBS_TABLE = "jobs"
JOB_SEARCH_CACHE = "job_search"
NOT_INSTALLED = ("pg_stat_statements is not installed in this database: add it to the server's "
                 "shared_preload_libraries, restart PostgreSQL, then CREATE EXTENSION "
                 "pg_stat_statements")


@dataclasses.dataclass(frozen=True)
class Pool:
    """This worker's connection pool now."""

    size: int
    in_use: int
    idle: int
    overflow: int


@dataclasses.dataclass(frozen=True)
class Statements:
    """The slowest statements, or why there are none (`note`)."""

    available: bool
    note: str
    total_calls: int
    slowest: list[sa.Row[Any]]


@dataclasses.dataclass(frozen=True)
class Performance:
    at: dt.datetime
    pool: Pool
    database: sa.Row[Any] | None
    queries: metrics.QueryCounts
    statements: Statements
    caches: list[metrics.CacheLookups]


@dataclasses.dataclass(frozen=True)
class JobsPerformance:
    at: dt.datetime
    pool: Pool
    table: sa.Row[Any] | None
    indexes: list[sa.Row[Any]]
    search_cache: metrics.CacheLookups
    statements: Statements


@dataclasses.dataclass(frozen=True, kw_only=True)
class PerformanceIn:
    """How many slow statements to list (1-SLOW_MAX; None: SLOW_DEFAULT)."""

    limit: int | None = None


@dataclasses.dataclass(frozen=True)
class Cleared:
    """The generations bumped (Redis key -> its new value) and the caches now cold."""

    generations: dict[str, int]
    caches: list[str]


@dataclasses.dataclass(frozen=True)
class Refreshed:
    names: list[str]


def _require_admin(actor: Principal) -> None:
    if actor.role != ADMIN:
        raise PermissionDenied("Only admins see performance figures and manage caches",
                               reason="ROLE_FORBIDDEN")


def _slow_limit(performance_in: PerformanceIn) -> int:
    check = Validator()
    limit = pagination.limit(check, performance_in.limit, default=SLOW_DEFAULT, maximum=SLOW_MAX)
    check.check("Performance parameters are invalid")
    return limit


def pool_of(database: Database) -> Pool:
    """The figures of `database`'s pool now."""
    pool: Any = database.engine.pool  # a QueuePool
    return Pool(size=pool.size(), in_use=pool.checkedout(), idle=pool.checkedin(),
                overflow=max(0, pool.overflow()))


def _statements(reader: Reader, *, limit: int, table: str | None = None) -> Statements:
    schema = queries.statements_schema(reader)
    if schema is None:
        return Statements(False, NOT_INSTALLED, 0, [])
    try:
        total, rows = queries.slowest_statements(reader, schema=schema, limit=limit, table=table,
                                                 text_max=QUERY_TEXT_MAX)
    except sa.exc.DBAPIError as error:  # installed, but not in shared_preload_libraries
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        return Statements(False, ("pg_stat_statements is installed but cannot be read: "
                                  + reason)[:NOTE_MAX], 0, [])
    return Statements(True, "", total, rows)


def get_performance(reader: Reader, *, actor: Principal, database: Database,
                    performance_in: PerformanceIn) -> Performance:
    """The whole API's database performance, as far as PostgreSQL and this worker know it."""
    _require_admin(actor)
    limit = _slow_limit(performance_in)
    return Performance(at=dt.datetime.now(dt.UTC), pool=pool_of(database),
                       database=queries.database_stats(reader),
                       queries=metrics.query_counts(),
                       statements=_statements(reader, limit=limit),
                       caches=metrics.cache_lookups())


def get_jobs_performance(reader: Reader, *, actor: Principal, database: Database,
                         performance_in: PerformanceIn) -> JobsPerformance:
    """Job search's share: the jobs table and its indexes, the search cache, its statements."""
    _require_admin(actor)
    limit = _slow_limit(performance_in)
    search = next(c for c in metrics.cache_lookups() if c.name == JOB_SEARCH_CACHE)
    return JobsPerformance(at=dt.datetime.now(dt.UTC), pool=pool_of(database),
                           table=queries.table_stats(reader, table=JOBS_TABLE),
                           indexes=queries.index_stats(reader, table=JOBS_TABLE),
                           search_cache=search,
                           statements=_statements(reader, limit=limit, table=JOBS_TABLE))


def clear_cache(session: Session, *, actor: Principal, cache: Cache,
                generations: Sequence[str], caches: Sequence[str]) -> Cleared:
    """Bump every cache group's generation in one round trip, then audit it. Redis
    unreachable: Unavailable, nothing audited (nothing was cleared). Each generation's WAL
    position is forgotten with it (`hotgigs.replica.generations`): a read replica's answers
    are cached again only once its monitor has seeded a position read after the clear, so data
    changed outside the API before a clear is never cached stale from a lagging replica."""
    _require_admin(actor)
    try:
        with cache.client.pipeline(transaction=False) as pipe:
            for generation in generations:
                pipe.delete(replica_generations.lsn_key(generation))
                pipe.incr(generation)
            values = [int(value) for value in pipe.execute()[1::2]]
    except redis.RedisError as error:
        raise Unavailable("The cache (Redis) is unreachable: nothing was cleared",
                          retry_after_seconds=5, reason="CACHE_UNAVAILABLE") from error
    bumped = dict(zip(generations, values, strict=True))
    audit_service.record(session, actor_user_id=actor.user_id, action="cache.clear",
                         target="cache",
                         details={"generations": bumped, "via": audit_service.via(actor)})
    return Cleared(bumped, list(caches))


def refresh_materialized_views(session: Session, *, actor: Principal) -> Refreshed:
    """Refresh what the analytics read model precomputes (nothing today), then audit it."""
    _require_admin(actor)
    names = analytics_service.refresh_precomputed(session)
    audit_service.record(session, actor_user_id=actor.user_id, action="cache.refresh_views",
                         target="analytics",
                         details={"refreshed": names, "via": audit_service.via(actor)})
    return Refreshed(names)
