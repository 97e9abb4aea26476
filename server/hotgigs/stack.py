"""Assemble the running pieces: dependencies (given or embedded), gRPC server, Envoy."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
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
def grpc_service(settings: Settings, deps: Dependencies) -> Iterator[GrpcServer]:
    """A started gRPC server and mail sender on the dependencies; drained and stopped on exit."""
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
            server.stop()
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


@contextlib.contextmanager
def worker_processes(settings: Settings, deps: Dependencies, count: int) -> Iterator[list[int]]:
    """`count` separate `hotgigs serve` processes (so both cores work despite the GIL) on
    consecutive ports from HOTGIGS_GRPC_ADDRESS, each with its own metrics port; yields their
    gRPC ports once all answer SERVING; SIGTERM (drain) on exit."""
    import os
    import subprocess
    import sys

    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from hotgigs.embedded import EmbeddedServerError, free_port

    base = settings.grpc_address.port
    ports = [base + number if base else free_port() for number in range(count)]
    processes = []
    try:
        for number, port in enumerate(ports):
            metrics = settings.metrics_address
            # The rest of the settings (JWT secret included) come from the same environment.
            env = {**os.environ, "DATABASE_URL": deps.database_url,
                   "CACHE_REDIS_URL": deps.redis_url,
                   "HOTGIGS_PROXY_SECRET": settings.proxy_secret,
                   "HOTGIGS_ENV": settings.environment,
                   "HOTGIGS_GRPC_ADDRESS": f"{settings.grpc_address.host}:{port}",
                   "HOTGIGS_METRICS_ADDRESS": f"{metrics.host}:{metrics.port + number}"
                   if metrics else "off"}
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "hotgigs.cli", "serve"], env=env))
        for port, process in zip(ports, processes, strict=True):
            with grpc.insecure_channel(f"{settings.grpc_address.host}:{port}") as channel:
                ready = grpc.channel_ready_future(channel)
                for _ in range(60):
                    if process.poll() is not None:
                        raise EmbeddedServerError(f"worker on port {port} exited with "
                                                  f"{process.returncode}; see its output above")
                    try:
                        ready.result(timeout=1)
                        break
                    except grpc.FutureTimeoutError:
                        continue
                health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                          timeout=10)
        log.info("workers_started", count=count, ports=ports)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(settings.shutdown_grace_seconds + 10)
            except subprocess.TimeoutExpired:
                process.kill()
