"""Assemble the running pieces: dependencies (given or embedded), gRPC server, Envoy."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import psycopg
import structlog

from hotgigs import migrate
from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.embedded import EmbeddedPostgres, EmbeddedRedis
from hotgigs.grpc_server import registry
from hotgigs.grpc_server.server import GrpcServer, create_server
from hotgigs.mail.sender import MailSender
from hotgigs.settings import ConfigError, Settings
from hotgigs.telemetry import metrics
from http_bridge import envoy_config
from http_bridge.envoy_process import EnvoyProcess, validate

log = structlog.get_logger(__name__)

EMBEDDED_DATABASE = "hotgigs"


@dataclasses.dataclass(frozen=True)
class Dependencies:
    """Where PostgreSQL and Redis are, and whether we started them ourselves."""

    database_url: str
    redis_url: str
    embedded_database: bool
    embedded_redis: bool


def _ensure_database(postgres: EmbeddedPostgres, name: str) -> str:
    with psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=postgres dbname=postgres",
                         autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return postgres.url_for(name) if exists else postgres.create_database(name)


@contextlib.contextmanager
def dependencies(settings: Settings) -> Iterator[Dependencies]:
    """Yield the database and Redis URLs; start embedded servers for unset ones (development
    and test only) and stop them again on exit."""
    with contextlib.ExitStack() as stack:
        database_url, redis_url = settings.database_url, settings.redis_url
        if (database_url is None or redis_url is None) and settings.environment == "production":
            raise ConfigError("DATABASE_URL and CACHE_REDIS_URL are required in production")
        if database_url is None:
            postgres = EmbeddedPostgres(settings.data_dir / "postgres")
            postgres.start()
            stack.callback(postgres.stop)
            database_url = _ensure_database(postgres, EMBEDDED_DATABASE)
        if redis_url is None:
            redis_server = EmbeddedRedis(settings.data_dir / "redis")
            redis_server.start()
            stack.callback(redis_server.stop)
            redis_url = redis_server.url
        yield Dependencies(database_url, redis_url,
                           embedded_database=settings.database_url is None,
                           embedded_redis=settings.redis_url is None)


@contextlib.contextmanager
def grpc_service(settings: Settings, deps: Dependencies, *, drain: bool = False) -> Iterator[GrpcServer]:
    """A started gRPC server and mail sender on the dependencies; drained and stopped on exit
    (`drain`: first NOT_SERVING for HOTGIGS_DRAIN_DELAY_SECONDS, for a worker behind Envoy)."""
    database = Database.from_settings(settings, deps.database_url)
    cache = Cache.from_settings(settings, deps.redis_url)
    try:
        server = create_server(settings, database, cache)
        server.start()
        mail = MailSender(settings, database)  # every worker drains the outbox (SKIP LOCKED)
        mail.start()
        exporter = (metrics.serve(settings.metrics_address.host, settings.metrics_address.port)
                    if settings.metrics_address else None)
        try:
            yield server
        finally:
            server.stop(drain_delay_seconds=settings.drain_delay_seconds if drain else 0.0)
            mail.stop()
            if exporter is not None:
                exporter.shutdown()
                exporter.server_close()
    finally:
        database.dispose()
        cache.close()


def envoy_options(settings: Settings, grpc_port: int | Sequence[int],
                  descriptor_path: Path) -> envoy_config.EnvoyOptions:
    ports = [grpc_port] if isinstance(grpc_port, int) else list(grpc_port)
    return envoy_config.EnvoyOptions(
        listen_host=settings.http_address.host,
        listen_port=settings.http_address.port,
        admin_host=settings.envoy_admin_address.host,
        admin_port=settings.envoy_admin_address.port,
        upstreams=[(settings.grpc_address.host, port) for port in ports],
        descriptor_path=descriptor_path,
        services=[service.full_name for service in registry.api_services()],
        cors_allowed_origins=settings.cors_allowed_origins,
        access_log_path=settings.envoy_access_log,
        proxy_secret=settings.proxy_secret,
        xff_trusted_hops=settings.xff_trusted_hops,
        otlp_endpoint=otlp_address(settings.otel_endpoint),
        upstream_timeout_seconds=settings.request_timeout_seconds,
        health_check_interval_seconds=settings.envoy_health_check_interval_seconds,
        retry_min_concurrency=settings.max_concurrent_rpcs,
        max_downstream_connections=settings.envoy_max_connections,
        max_heap_bytes=settings.envoy_max_heap_mb * 1024 * 1024,
    )


def otlp_address(endpoint: str | None) -> tuple[str, int] | None:
    """host and port of an OTLP/gRPC endpoint such as http://127.0.0.1:4317."""
    if not endpoint:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    return (parts.hostname or "127.0.0.1", parts.port or 4317)


def descriptor_path() -> Path:
    """The descriptor set built by `make protos`, shipped inside the package."""
    path = Path(registry.__file__).resolve().parent.parent / "v1" / "api_descriptor.pb"
    if not path.exists():
        raise ConfigError(f"{path} is missing; run `make protos`")
    return path


@contextlib.contextmanager
def envoy(settings: Settings, grpc_port: int | Sequence[int]) -> Iterator[EnvoyProcess]:
    """A validated, started Envoy in front of the gRPC server; stopped on exit."""
    config_path = envoy_config.write(envoy_options(settings, grpc_port, descriptor_path()),
                                     settings.data_dir / "envoy" / "envoy.yaml")
    validate(config_path)
    admin = settings.envoy_admin_address
    process = EnvoyProcess(config_path, admin_url=f"http://{admin.host}:{admin.port}",
                           base_id=settings.http_address.port,
                           log_path=settings.data_dir / "envoy" / "envoy.log")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def migrate_to_head(deps: Dependencies) -> str | None:
    migrate.upgrade(deps.database_url)
    return migrate.current(deps.database_url)


WORKER_RESTART_FIRST_DELAY = 0.5  # seconds before restarting a worker that died
WORKER_RESTART_MAX_DELAY = 30.0  # the delay doubles while a worker keeps dying, up to this
WORKER_STABLE_SECONDS = 30.0  # a worker up this long restarts after the first delay again


class WorkerSupervisor:
    """`count` separate `hotgigs serve` processes (so both cores work despite the GIL) on
    consecutive ports from HOTGIGS_GRPC_ADDRESS, each with its own metrics port.

    A worker that exits while the stack runs (crash, SIGKILL, SIGTERM from outside) is
    restarted on its port after a backoff: 0.5 s, doubling up to 30 s while it keeps dying
    within 30 s of starting. Envoy's health checks take it out of rotation meanwhile. In
    production systemd's `Restart=` does the same for the hotgigs-api@N units.
    """

    def __init__(self, settings: Settings, deps: Dependencies, count: int, *,
                 extra_env: Mapping[str, str] | None = None, poll_interval: float = 0.2) -> None:
        from hotgigs.embedded import free_port

        self.settings = settings
        self.deps = deps
        base = settings.grpc_address.port
        self.ports = [base + number if base else free_port() for number in range(count)]
        self.extra_env = dict(extra_env or {})
        self.poll_interval = poll_interval
        self.processes: list[subprocess.Popen[bytes]] = []
        self.restarts = 0
        self._started_at: list[float] = []
        self._delays: list[float] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def _spawn(self, number: int) -> subprocess.Popen[bytes]:
        metrics_address = self.settings.metrics_address
        # The rest of the settings (JWT secret included) come from the same environment.
        env = {**os.environ, "DATABASE_URL": self.deps.database_url,
               "CACHE_REDIS_URL": self.deps.redis_url,
               "HOTGIGS_PROXY_SECRET": self.settings.proxy_secret,
               "HOTGIGS_ENV": self.settings.environment,
               "HOTGIGS_GRPC_ADDRESS": f"{self.settings.grpc_address.host}:{self.ports[number]}",
               "HOTGIGS_METRICS_ADDRESS": f"{metrics_address.host}:{metrics_address.port + number}"
               if metrics_address else "off",
               **self.extra_env}
        return subprocess.Popen([sys.executable, "-m", "hotgigs.cli", "serve"], env=env)

    def start(self, *, wait: bool = True) -> None:
        """Start every worker and (`wait`) return once all answer SERVING."""
        for number in range(len(self.ports)):
            self.processes.append(self._spawn(number))
            self._started_at.append(time.monotonic())
            self._delays.append(WORKER_RESTART_FIRST_DELAY)
        if wait:
            for number in range(len(self.ports)):
                self.wait_ready(number)
        self._thread.start()
        log.info("workers_started", count=len(self.ports), ports=self.ports)

    def wait_ready(self, number: int, timeout: float = 60.0) -> None:
        """Block until worker `number` answers SERVING on gRPC health."""
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        from hotgigs.embedded import EmbeddedServerError

        port = self.ports[number]
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(f"{self.settings.grpc_address.host}:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                process = self.processes[number]  # a restart replaces it
                if process.poll() is not None and not self._thread.is_alive():
                    raise EmbeddedServerError(f"worker on port {port} exited with "
                                              f"{process.returncode}; see its output above")
                try:
                    status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(f"worker on port {port} did not answer SERVING "
                                              f"within {timeout}s")
                time.sleep(0.1)

    def pid(self, number: int) -> int:
        return self.processes[number].pid

    def next_restart_delay(self, number: int) -> float:
        """Seconds worker `number` would wait before its next restart."""
        return self._delays[number]

    def _watch(self) -> None:
        due: dict[int, float] = {}  # worker number -> when to restart it
        while not self._stopping.wait(self.poll_interval):
            now = time.monotonic()
            for number, process in enumerate(self.processes):
                if number in due:
                    if now >= due[number] and not self._stopping.is_set():
                        del due[number]
                        self.processes[number] = self._spawn(number)
                        self._started_at[number] = now
                        self.restarts += 1
                        log.info("worker_restarted", worker=number, port=self.ports[number],
                                 pid=self.processes[number].pid)
                    continue
                code = process.poll()
                if code is None:
                    continue
                if now - self._started_at[number] >= WORKER_STABLE_SECONDS:
                    self._delays[number] = WORKER_RESTART_FIRST_DELAY
                delay = self._delays[number]
                self._delays[number] = min(delay * 2, WORKER_RESTART_MAX_DELAY)
                due[number] = now + delay
                log.warning("worker_exited", worker=number, port=self.ports[number],
                            pid=process.pid, returncode=code,
                            signal=signal.Signals(-code).name if code < 0 else None,
                            restart_in_seconds=delay)

    def stop(self) -> None:
        """SIGTERM every worker (each drains) and wait; no more restarts."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        for process in self.processes:
            process.terminate()
        wait = self.settings.drain_delay_seconds + self.settings.shutdown_grace_seconds + 10
        for process in self.processes:
            try:
                process.wait(wait)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def supervised_workers(settings: Settings, deps: Dependencies, count: int, *,
                       extra_env: Mapping[str, str] | None = None) -> Iterator[WorkerSupervisor]:
    """A started `WorkerSupervisor` (all workers SERVING); every worker drained on exit."""
    supervisor = WorkerSupervisor(settings, deps, count, extra_env=extra_env)
    try:
        supervisor.start()
        yield supervisor
    finally:
        supervisor.stop()


@contextlib.contextmanager
def worker_processes(settings: Settings, deps: Dependencies, count: int) -> Iterator[list[int]]:
    """`count` supervised `hotgigs serve` processes; yields their gRPC ports once all answer
    SERVING; SIGTERM (drain) on exit."""
    with supervised_workers(settings, deps, count) as supervisor:
        yield supervisor.ports
