"""What a production process assembles from its settings: the configured PostgreSQL and Redis,
the gRPC server with its mail sender and metrics exporter, and Envoy's options.

The development stack (embedded servers, a local Envoy, worker supervision) builds on this in
hotgigs/dev/, which the production wheel leaves out.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc

from hotgigs import manifest, migrate
from hotgigs.audit.pruner import AuditPruner
from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.grpc_server import registry
from hotgigs.grpc_server.server import GrpcServer, create_server
from hotgigs.keys import service as keys_service
from hotgigs.mail.sender import MailSender
from hotgigs.replica.router import ReadReplica
from hotgigs.settings import ConfigError, EdgeSettings, Settings
from hotgigs.telemetry import metrics
from http_bridge import envoy_config, web_assets


@dataclasses.dataclass(frozen=True)
class Dependencies:
    """Where PostgreSQL and Redis are, and whether the development stack started them.
    `database_url` is the application's role (no DDL); `migration_url` the schema owner's,
    for the migrations only (None: the same as `database_url`)."""

    database_url: str
    redis_url: str
    embedded_database: bool = False
    embedded_redis: bool = False
    migration_url: str | None = None
    state_redis_url: str | None = None  # the noeviction instance; None: redis_url's server

    @property
    def schema_owner_url(self) -> str:
        """The URL migrations (and development seeding) run with."""
        return self.migration_url or self.database_url


@contextlib.contextmanager
def dependencies(settings: Settings) -> Iterator[Dependencies]:
    """The configured DATABASE_URL and CACHE_REDIS_URL (both required here; hotgigs.dev.stack
    starts embedded servers for unset ones in development)."""
    if settings.database_url is None or settings.redis_url is None:
        raise ConfigError("DATABASE_URL and CACHE_REDIS_URL are required"
                          + (" in production" if settings.environment == "production" else
                             " (this install has no development tooling to start embedded servers)"))
    yield Dependencies(settings.database_url, settings.redis_url,
                       migration_url=settings.migration_database_url,
                       state_redis_url=settings.state_redis_url)


@contextlib.contextmanager
def grpc_service(settings: Settings, deps: Dependencies, *, drain: bool = False) -> Iterator[GrpcServer]:
    """A started gRPC server and mail sender on the dependencies; drained and stopped on exit
    (`drain`: first NOT_SERVING for HOTGIGS_DRAIN_DELAY_SECONDS, for a worker behind Envoy)."""
    database = Database.from_settings(settings, deps.database_url)
    cache = Cache.from_settings(settings, deps.redis_url, deps.state_redis_url)
    replica = ReadReplica.from_settings(settings, database, cache=cache,
                                        generations=manifest.CACHE_GENERATIONS)
    try:
        with database.session_scope() as session:  # a wrong or missing KEK stops us here
            keys_service.check(session, keyring=database.keyring)
        server = create_server(settings, database, cache, replica=replica)
        if replica is not None:
            replica.start()
        server.start()
        mail = MailSender(settings, database)  # every worker drains the outbox (SKIP LOCKED)
        mail.start()
        pruner = AuditPruner(database, retention_days=settings.audit_log_retention_days)
        pruner.start()
        exporter = (metrics.serve(settings.metrics_address.host, settings.metrics_address.port)
                    if settings.metrics_address else None)
        try:
            yield server
        finally:
            server.stop(drain_delay_seconds=settings.drain_delay_seconds if drain else 0.0)
            mail.stop()
            pruner.stop()
            if exporter is not None:
                exporter.shutdown()
                exporter.server_close()
    finally:
        if replica is not None:
            replica.dispose()
        database.dispose()
        cache.close()


def envoy_options(settings: Settings | EdgeSettings, grpc_port: int | Sequence[int],
                  descriptor_path: Path) -> envoy_config.EnvoyOptions:
    """Envoy's options from the full settings (a development stack) or an edge's reduced ones."""
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
        trace_sample_ratio=settings.otel_sample_ratio,
        # A development stack's one environment names the workers; its Envoy keeps its own name.
        trace_service_name=(settings.otel_service_name if isinstance(settings, EdgeSettings)
                            else EdgeSettings.otel_service_name),
        upstream_timeout_seconds=settings.request_timeout_seconds,
        health_check_interval_seconds=settings.envoy_health_check_interval_seconds,
        retry_min_concurrency=settings.max_concurrent_rpcs,
        max_downstream_connections=settings.envoy_max_connections,
        max_heap_bytes=settings.envoy_max_heap_mb * 1024 * 1024,
        web_root=web_assets.WEB_ROOT if web_assets.WEB_ROOT.is_dir() else None,
        tls=None if settings.envoy_tls is None else envoy_config.TlsIdentity(
            str(settings.envoy_tls.cert_file.resolve()), str(settings.envoy_tls.key_file.resolve()),
            str(settings.envoy_tls.ca_file.resolve())),
        upstream_tls=settings.envoy_upstream_tls,
        upstream_sans=settings.envoy_upstream_sans,
        internal_listener=None if settings.internal_grpc_address is None
        else (settings.internal_grpc_address.host, settings.internal_grpc_address.port),
    )


def grpc_client_credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    """Credentials for this stack's own calls to a worker (readiness checks): None when the
    workers speak plaintext; with HOTGIGS_GRPC_TLS_*, mutual TLS with Envoy's certificate
    (HOTGIGS_ENVOY_TLS_*), else the worker's own."""
    if settings.grpc_tls is None:
        return None
    identity = settings.envoy_tls or settings.grpc_tls
    return grpc.ssl_channel_credentials(root_certificates=settings.grpc_tls.ca_file.read_bytes(),
                                        private_key=identity.key_file.read_bytes(),
                                        certificate_chain=identity.cert_file.read_bytes())


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


def migrate_to_head(deps: Dependencies) -> str | None:
    """Upgrade the schema as its owner; the revision it is at afterwards."""
    migrate.upgrade(deps.schema_owner_url)
    return migrate.current(deps.schema_owner_url)
