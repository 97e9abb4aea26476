"""Every Prometheus metric of the service, defined in one place.

Multi-process: each worker process serves its own `/metrics` (one scrape target per worker,
HOTGIGS_METRICS_ADDRESS per process); Prometheus sums across targets. Labels take bounded
values only (service, method, type, code, operation, cache name), never ids.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import grpc
import prometheus_client
import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = structlog.get_logger(__name__)

# 0.3: the latency SLO threshold (300 ms) is a bucket boundary, so its SLI is exact.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0)

GRPC_STARTED = prometheus_client.Counter(
    "grpc_server_started_total", "RPCs started on the server.",
    # grpc_service: full service name; grpc_method: method name; grpc_type: unary, server_stream...
    ["grpc_type", "grpc_service", "grpc_method"])
GRPC_HANDLED = prometheus_client.Counter(
    "grpc_server_handled_total", "RPCs completed on the server, by status code.",
    # grpc_code: the gRPC status code name (OK, NOT_FOUND, ...)
    ["grpc_type", "grpc_service", "grpc_method", "grpc_code"])
GRPC_SECONDS = prometheus_client.Histogram(
    "grpc_server_handling_seconds", "Time to handle an RPC, in seconds.",
    ["grpc_type", "grpc_service", "grpc_method"], buckets=LATENCY_BUCKETS)
DB_QUERY_SECONDS = prometheus_client.Histogram(
    "hotgigs_db_query_seconds", "Time of one SQL statement, in seconds.",
    # operation: SELECT, INSERT, UPDATE, DELETE or OTHER
    ["operation"], buckets=LATENCY_BUCKETS)
CACHE_REQUESTS = prometheus_client.Counter(
    "hotgigs_cache_requests_total", "Answer-cache look-ups.",
    # cache: job_search or analytics; result: hit or miss
    ["cache", "result"])
RATE_LIMITED = prometheus_client.Counter(
    "hotgigs_rate_limit_rejections_total", "Calls refused by the rate limiter.",
    # rate_class: default or auth
    ["rate_class"])
# Every label value these counters take, created at 0 at import: rate() over them is 0, not
# empty, before the first event.
CACHE_NAMES = ("job_search", "analytics")
RATE_CLASSES = ("default", "auth")  # "exempt" (health probes) is never limited
for _cache in CACHE_NAMES:
    for _result in ("hit", "miss"):
        CACHE_REQUESTS.labels(_cache, _result)
for _rate_class in RATE_CLASSES:
    RATE_LIMITED.labels(_rate_class)
READ_REPLICA_QUERIES = prometheus_client.Counter(
    "hotgigs_read_replica_queries_total",
    "Read-only work (public search, analytics) routed with a read replica configured.",
    # outcome: replica (served there), fallback_down (replica down or failed: primary),
    # fallback_lag (replica behind DATABASE_REPLICA_MAX_LAG_SECONDS: primary)
    ["outcome"])
READ_REPLICA_OUTCOMES = ("replica", "fallback_down", "fallback_lag")
for _outcome in READ_REPLICA_OUTCOMES:
    READ_REPLICA_QUERIES.labels(_outcome)
READ_REPLICA_LAG = prometheus_client.Gauge(
    "hotgigs_read_replica_lag_seconds",
    "The read replica's lag at its last check, in seconds (-1: down or unknown).")
READ_REPLICA_LAG.set(-1)
MAIL_FAILURES = prometheus_client.Counter(
    "hotgigs_mail_send_failures_total", "Failed attempts to hand a mail to SMTP.")
MAIL_SENT = prometheus_client.Counter("hotgigs_mail_sent_total", "Mails handed to SMTP.")


@dataclasses.dataclass(frozen=True)
class QueryCounts:
    """SQL statements this process ran since it started (hotgigs_db_query_seconds)."""

    by_operation: dict[str, int]  # SELECT, INSERT, UPDATE, DELETE, OTHER
    total: int
    mean_ms: float


@dataclasses.dataclass(frozen=True)
class CacheLookups:
    """Look-ups of one answer cache by this process since it started."""

    name: str
    hits: int
    misses: int


def query_counts() -> QueryCounts:
    """This process's statement counts by operation, read from its histogram."""
    counts: dict[str, int] = {}
    seconds = 0.0
    for family in DB_QUERY_SECONDS.collect():
        for sample in family.samples:
            if sample.name.endswith("_count"):
                counts[sample.labels["operation"]] = int(sample.value)
            elif sample.name.endswith("_sum"):
                seconds += sample.value
    total = sum(counts.values())
    return QueryCounts(counts, total, seconds * 1000 / total if total else 0.0)


def cache_lookups() -> list[CacheLookups]:
    """Hits and misses of every answer cache (CACHE_NAMES) in this process."""
    found = {(name, result): 0 for name in CACHE_NAMES for result in ("hit", "miss")}
    for family in CACHE_REQUESTS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                found[sample.labels["cache"], sample.labels["result"]] = int(sample.value)
    return [CacheLookups(name, found[name, "hit"], found[name, "miss"]) for name in CACHE_NAMES]


def rpc_type(handler: Any) -> str:
    if handler.request_streaming and handler.response_streaming:
        return "bidi_stream"
    if handler.request_streaming:
        return "client_stream"
    return "server_stream" if handler.response_streaming else "unary"


HEALTH_PREFIX = "/grpc.health.v1.Health/"


def is_health_check(method: str) -> bool:
    """Envoy's (and load balancers') health checks: infrastructure, not an API module; kept out
    of the per-method series and of tracing."""
    return method.startswith(HEALTH_PREFIX)


def split_method(method: str) -> tuple[str, str]:
    service, _, name = method.strip("/").partition("/")
    return service, name


def preinitialise(methods: Iterable[tuple[str, str, str]]) -> None:
    """Create every (type, service, method, code) series at zero, so rates exist from the
    start and absent-vs-zero never confuses an alert."""
    for kind, service, name in methods:
        GRPC_STARTED.labels(kind, service, name)
        GRPC_SECONDS.labels(kind, service, name)
        for code in grpc.StatusCode:
            GRPC_HANDLED.labels(kind, service, name, code.name)


class CallbackGauges(Collector):
    """Gauges read at scrape time (pool use, outbox backlog)."""

    def __init__(self, gauges: dict[str, tuple[str, Callable[[], float]]]) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (help_text, read) in self.gauges.items():
            try:
                value = read()
            except Exception:  # a failing source must not break the scrape
                log.debug("gauge_source_failed", gauge=name)
                continue
            yield GaugeMetricFamily(name, help_text, value=value)


class _Sources:
    """What the scrape-time gauges read: the database of the newest running server of the
    process (`watch` when it is built, `unwatch` when it stops)."""

    def __init__(self) -> None:
        self.pool: Any = None
        self.database: Any = None
        self.watched: list[Any] = []  # the running servers' databases, newest last


SOURCES = _Sources()


def _pool_in_use() -> float:
    return float(SOURCES.pool.checkedout()) if SOURCES.pool is not None else 0.0


def _pool_overflow() -> float:
    return float(max(0, SOURCES.pool.overflow())) if SOURCES.pool is not None else 0.0


def _outbox_backlog() -> float:
    if SOURCES.database is None:
        return 0.0
    import sqlalchemy as sa

    with SOURCES.database.engine.connect() as connection:
        return float(connection.execute(sa.text(
            "SELECT count(*) FROM outbox_emails WHERE status = 'pending'")).scalar_one())


prometheus_client.REGISTRY.register(CallbackGauges({
    "hotgigs_db_pool_connections_in_use": ("Pooled connections checked out now.", _pool_in_use),
    "hotgigs_db_pool_overflow": ("Connections open beyond the pool size now.", _pool_overflow),
    "hotgigs_mail_outbox_backlog": ("Mails waiting to be sent.", _outbox_backlog),
}))


def watch(database: Any) -> None:
    """Point the scrape-time gauges at this database."""
    SOURCES.watched.append(database)
    SOURCES.database = database
    SOURCES.pool = database.engine.pool


def unwatch(database: Any) -> None:
    """Stop reading this database (its server stopped; its owner may dispose of it): the
    gauges read the newest server still running, or nothing. A scrape must not open a
    connection on a disposed engine that nobody will close again."""
    for index in range(len(SOURCES.watched) - 1, -1, -1):  # one server's: servers may share
        if SOURCES.watched[index] is database:
            del SOURCES.watched[index]
            break
    if SOURCES.database is database:
        SOURCES.database = SOURCES.watched[-1] if SOURCES.watched else None
        SOURCES.pool = None if SOURCES.database is None else SOURCES.database.engine.pool


def serve(host: str, port: int) -> Any:
    """Serve /metrics on host:port in a daemon thread; returns the HTTP server (shutdown())."""
    from hotgigs.settings import ConfigError

    try:
        server, _thread = prometheus_client.start_http_server(port, addr=host)
    except OSError as error:
        raise ConfigError(f"HOTGIGS_METRICS_ADDRESS {host}:{port} cannot be served: "
                          f"{error.strerror} (set another port, or 'off')") from error
    return server
