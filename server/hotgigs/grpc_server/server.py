"""Build the gRPC server (`create_server`) and run it until SIGTERM/SIGINT (`serve`)."""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent import futures
from types import FrameType
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from hotgigs import manifest
from hotgigs.cache import Cache
from hotgigs.core.components import Components
from hotgigs.core.rpc import Policy
from hotgigs.db import Database
from hotgigs.grpc_server import interceptors, registry
from hotgigs.grpc_server.decoding import MAX_UPLOAD_MESSAGE_BYTES, DecodingInterceptor
from hotgigs.grpc_server.idempotency import IdempotencyInterceptor
from hotgigs.grpc_server.response_cache import ResponseCacheInterceptor
from hotgigs.grpc_server.rest_status import RestStatusInterceptor
from hotgigs.grpc_server.security_interceptors import AuthInterceptor, RateLimitInterceptor
from hotgigs.grpc_server.tls import ReloadingCredentials
from hotgigs.health.monitor import HealthMonitor, HealthStatuses
from hotgigs.notifications import live
from hotgigs.replica.router import ReadReplica
from hotgigs.security.access import AccessState
from hotgigs.security.api_keys import ApiKeys
from hotgigs.security.encryption import KeyRing
from hotgigs.security.ratelimit import Limit, RateLimiter
from hotgigs.security.sessions import SessionStore
from hotgigs.security.tokens import TokenService
from hotgigs.settings import Address, Settings, is_loopback
from hotgigs.telemetry import metrics, tracing

log = structlog.get_logger(__name__)

HEALTH_SERVICE = manifest.MODULES[0].full_service  # hotgigs.v1.HealthService
MAX_METADATA_BYTES = 64 * 1024


@dataclasses.dataclass
class GrpcServer:
    """A built server: call `start()`, later `stop()` (graceful)."""

    server: grpc.Server
    port: int
    monitor: HealthMonitor
    grace_seconds: float
    tracer_provider: Any = None
    database: Database | None = None  # read by the scrape-time gauges while it runs
    executor: futures.ThreadPoolExecutor | None = None  # the RPC threads, ended by stop()

    def start(self) -> None:
        self.server.start()
        self.monitor.start()

    def stop(self, grace_seconds: float | None = None, *, drain_delay_seconds: float = 0.0) -> None:
        """Report NOT_SERVING; keep answering for `drain_delay_seconds` so a load balancer
        probing the health service (Envoy) takes this worker out of rotation first; then
        refuse new RPCs and let in-flight ones finish within the grace period."""
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        log.info("grpc_server_draining", grace_seconds=grace, drain_delay_seconds=drain_delay_seconds)
        self.monitor.stop()
        if drain_delay_seconds > 0:
            time.sleep(drain_delay_seconds)
        self.server.stop(grace).wait()
        if self.executor is not None:  # its idle threads would outlive the server
            self.executor.shutdown(wait=False, cancel_futures=True)
        self.monitor.join(timeout=max(grace, 10.0))
        if self.database is not None:
            metrics.unwatch(self.database)
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()  # flushes the spans still in the batch
        log.info("grpc_server_stopped")


@dataclasses.dataclass(frozen=True)
class Security:
    """The security parts shared by the interceptors and the auth module."""

    tokens: TokenService
    access: AccessState
    sessions: SessionStore
    limiter: RateLimiter
    keys: ApiKeys

    @classmethod
    def from_settings(cls, settings: Settings, database: Database, cache: Cache) -> Security:
        tokens = TokenService(settings.jwt_secret_key,
                              access_ttl_seconds=settings.jwt_access_token_expires,
                              refresh_ttl_seconds=settings.jwt_refresh_token_expires,
                              key_set=settings.jwt_key_set)
        access = AccessState(database, ttl_seconds=settings.auth_user_state_ttl_seconds)
        sessions = SessionStore(access, lifetime_seconds=settings.jwt_refresh_token_expires)
        limiter = RateLimiter(cache, {
            "default": [Limit(settings.rate_limit_per_minute, 60),
                        Limit(settings.rate_limit_per_hour, 3600)],
            "auth": [Limit(settings.auth_rate_limit_per_minute, 60),
                     Limit(settings.auth_rate_limit_per_hour, 3600)],
            "service": [Limit(settings.service_account_rate_limit_per_minute, 60),
                        Limit(settings.service_account_rate_limit_per_hour, 3600)],
        })
        keys = ApiKeys(database, settings.api_key_pepper,
                       ttl_seconds=settings.auth_user_state_ttl_seconds)
        return cls(tokens, access, sessions, limiter, keys)


def default_implementations(settings: Settings, database: Database, cache: Cache,
                            security: Security, health: HealthStatuses,
                            replica: ReadReplica | None = None) -> dict[str, Any]:
    """Every module's servicer, as the manifest lists them."""
    return manifest.servicers(Components(settings, database, cache, security, health, replica))



def create_server(settings: Settings, database: Database, cache: Cache, *,
                  address: Address | None = None,
                  implementations: Mapping[str, Any] | None = None,
                  extra_handlers: Sequence[Any] = (),
                  extra_policies: Mapping[str, Policy] | None = None,
                  replica: ReadReplica | None = None) -> GrpcServer:
    """Build (not start) the server with the interceptor chain, every API service, the standard
    health service and reflection. Port 0 in `address` picks a free port. `replica`: the read
    replica's router (started by the caller), for the reads that may go there."""
    bind = address or settings.grpc_address
    # mutual TLS (HOTGIGS_GRPC_TLS_*): bad files stop the worker here, before anything starts
    tls = ReloadingCredentials(settings.grpc_tls) if settings.grpc_tls is not None else None
    database.ensure_keyring(KeyRing(settings.encryption_keks))  # documents, sealed columns
    security = Security.from_settings(settings, database, cache)
    provider = tracing.tracer_provider(settings)
    trace_interceptors = tracing.instrument(provider, database.engine) if provider else []
    live.install(live.LiveFeed(cache))
    executor = futures.ThreadPoolExecutor(max_workers=settings.grpc_max_workers,
                                          thread_name_prefix="grpc-worker")
    server = grpc.server(
        executor,
        interceptors=[interceptors.BuiltOnce([
            interceptors.RequestContextInterceptor(),
            *([interceptors.LoggingInterceptor(), interceptors.MetricsInterceptor(),
               # the trace id goes to logs and headers only when there are traces
               *trace_interceptors, *([tracing.TraceContextInterceptor()] if provider else [])]
              if settings.rpc_telemetry else []),  # off only to measure its cost (bench)
            interceptors.ErrorInterceptor(),
            DecodingInterceptor(),
            AuthInterceptor(security.tokens, security.access, settings.proxy_secret,
                            extra_policies, keys=security.keys),
            RateLimitInterceptor(security.limiter, extra_policies,
                                 counted_with_lookup=ResponseCacheInterceptor.serves(manifest.RPCS)),
            IdempotencyInterceptor(cache, manifest.IDEMPOTENT_CREATES),
            ResponseCacheInterceptor(cache, manifest.RPCS, primary_position=None if replica is None
                                     else replica.primary_position),
            RestStatusInterceptor(manifest.REST_STATUSES),
        ])],
        handlers=list(extra_handlers),
        # Overload: beyond this many RPCs in flight (live streams included) new ones are refused
        # at once with RESOURCE_EXHAUSTED (REST 429 with Retry-After) instead of queueing.
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
        # Metadata up to 64 KiB: Envoy's 16 KiB header limit (431) answers before gRPC's own
        # (8 KiB by default, answered RESOURCE_EXHAUSTED, naming internal headers).
        options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", MAX_UPLOAD_MESSAGE_BYTES),
                 ("grpc.max_metadata_size", MAX_METADATA_BYTES),
                 ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES)],
    )
    health_servicer = HealthStatuses()
    if implementations is None:
        implementations = default_implementations(settings, database, cache, security,
                                                  health_servicer, replica)
    service_names = registry.register(server, implementations)
    metrics.preinitialise(
        ("server_stream" if m.server_streaming and not m.client_streaming
         else "client_stream" if m.client_streaming and not m.server_streaming
         else "bidi_stream" if m.client_streaming else "unary",
         service.full_name, m.name)
        for service in registry.api_services() for m in service.descriptor.methods)
    metrics.watch(database)

    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    monitor = HealthMonitor(
        health_servicer, database, cache,
        services=[name for name in service_names if name != HEALTH_SERVICE],
        always_serving=[HEALTH_SERVICE],
        interval=settings.health_check_interval_seconds,
    )
    reflection.enable_server_reflection(
        [*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
         reflection.SERVICE_NAME],
        server,
    )
    if tls is not None:
        port = server.add_secure_port(str(bind), tls.credentials())
    else:
        port = server.add_insecure_port(str(bind))
        if not is_loopback(bind.host):
            log.warning("grpc_plaintext_beyond_loopback", address=str(bind),
                        hint="set HOTGIGS_GRPC_TLS_* for mutual TLS on a private network")
    if tls is not None:
        log.info("grpc_mutual_tls", address=str(bind), serial=f"{tls.current.serial:x}",
                 not_after=tls.current.not_after.isoformat(timespec="seconds"))
    if port == 0:
        raise RuntimeError(f"could not listen on {bind} (port in use?)")
    return GrpcServer(server=server, port=port, monitor=monitor,
                      grace_seconds=settings.shutdown_grace_seconds, tracer_provider=provider,
                      database=database, executor=executor)


def wait_for_signal() -> int:
    """Block until SIGTERM or SIGINT; return the signal number."""
    received = threading.Event()
    caught: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        caught.append(signum)
        received.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not received.wait(0.5):
            pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    return caught[0]
