"""Keeps the standard grpc.health.v1 statuses in step with the real dependency checks."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import structlog
from grpc_health.v1 import health, health_pb2
from opentelemetry.instrumentation.utils import suppress_instrumentation

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.health import checks

log = structlog.get_logger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


class HealthStatuses(health.HealthServicer):
    """The standard grpc.health.v1 servicer, also readable in-process: `status(service)` is
    what `Check` answers for that service (SERVICE_UNKNOWN before it was ever set), so the
    per-module REST health routes report exactly what gRPC health checks see."""

    def __init__(self) -> None:
        super().__init__(experimental_non_blocking=True)
        self._guard = threading.Lock()
        self._statuses: dict[str, int] = {"": SERVING}
        self._draining = False

    def set(self, service: str, status: int) -> None:
        super().set(service, status)
        with self._guard:
            if not self._draining:
                self._statuses[service] = status

    def enter_graceful_shutdown(self) -> None:
        with self._guard:
            self._draining = True
            self._statuses = dict.fromkeys(self._statuses, NOT_SERVING)
        super().enter_graceful_shutdown()

    def status(self, service: str) -> int:
        with self._guard:
            return int(self._statuses.get(service, SERVICE_UNKNOWN))


class HealthMonitor:
    """Re-checks PostgreSQL and Redis every `interval` seconds in a daemon thread.

    The overall service ("") and every API service are SERVING while PostgreSQL answers;
    `always_serving` services (the REST health RPC itself) stay SERVING so they can report.
    """

    def __init__(self, servicer: health.HealthServicer, database: Database, cache: Cache, *,
                 services: Iterable[str], always_serving: Iterable[str], interval: float) -> None:
        self.servicer = servicer
        self.database = database
        self.cache = cache
        self.services = tuple(services)
        self.always_serving = tuple(always_serving)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-monitor", daemon=True)
        self._last: bool | None = None

    def check_once(self) -> checks.HealthReport:
        # Untraced: a background ping serves no request, and traced it would export two orphan
        # traces (SELECT 1, PING) per interval from every worker.
        with suppress_instrumentation():
            report = checks.check(self.database, self.cache)
        serving = report.database.is_up
        status = SERVING if serving else NOT_SERVING
        for name in ("", *self.services):
            self.servicer.set(name, status)
        for name in self.always_serving:
            self.servicer.set(name, SERVING)
        if serving != self._last:
            log.info("health_changed", serving=serving, status=report.status)
            self._last = serving
        return report

    def start(self) -> None:
        self.check_once()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check_once()
            except Exception:
                log.exception("health_monitor_failed")

    def stop(self) -> None:
        """Stop checking and report NOT_SERVING everywhere (used while draining)."""
        self._stop.set()
        self.servicer.enter_graceful_shutdown()

    def join(self, timeout: float | None = None) -> None:
        """After `stop`: wait for a check still running to end, so it has given its pooled
        connection back before the database is disposed of (one returned later goes to the
        disposed pool and stays open until the garbage collector finds it)."""
        if self._thread.is_alive():
            self._thread.join(timeout)
