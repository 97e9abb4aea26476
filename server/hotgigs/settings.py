"""Configuration: read once from the environment into a validated, immutable `Settings`.

Nothing else in the package reads `os.environ`; the `Settings` object is passed down.
Every problem is reported as a `ConfigError` naming the variable and what was expected.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from hotgigs import __version__
from hotgigs.security import jwt_keys, oidc_providers
from hotgigs.security.oidc_providers import OidcProvider

ENVIRONMENTS = ("development", "test", "production")
LOG_FORMATS = ("auto", "json", "console")
# 32+ bytes, as PyJWT recommends for HS256 (it warns on every token otherwise).
DEVELOPMENT_JWT_SECRET = "development-only-not-a-secret-key"  # noqa: S105 - refused outside development
# The API-key pepper of development installs (it is in this repository; refused elsewhere).
DEVELOPMENT_API_KEY_PEPPER = "development-only-api-key-pepper-not-secret"
DOCUMENT_TYPES = ("pdf", "doc", "docx", "txt")  # what the extractors read
KEK_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
# A worker's gRPC over mutual TLS, and Envoy's identity (README "Internal callers: mTLS").
GRPC_TLS_VARIABLES = ("HOTGIGS_GRPC_TLS_CERT_FILE", "HOTGIGS_GRPC_TLS_KEY_FILE",
                      "HOTGIGS_GRPC_TLS_CLIENT_CA_FILE")
ENVOY_TLS_VARIABLES = ("HOTGIGS_ENVOY_TLS_CERT_FILE", "HOTGIGS_ENVOY_TLS_KEY_FILE",
                       "HOTGIGS_ENVOY_TLS_CA_FILE")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclasses.dataclass(frozen=True)
class Address:
    """A host and TCP port to listen on or connect to."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, name: str, value: str) -> Address:
        host, sep, port_text = value.rpartition(":")
        if not sep or not host:
            raise ConfigError(f"{name}={value!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
        port = _parse_int(name, port_text, minimum=0, maximum=65535)
        return cls(host=host.strip("[]"), port=port)


_METRICS_ADDRESS = Address("127.0.0.1", 9464)
_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


@dataclasses.dataclass(frozen=True)
class Kek:
    """A key-encryption key: its id (stored with what it wraps) and 32 bytes of material."""

    id: str
    material: bytes = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """PEM files of one TLS identity: its certificate chain, its private key, and the CA
    bundle that verifies the other side (mutual TLS: both sides present a certificate)."""

    cert_file: Path
    key_file: Path
    ca_file: Path


# The development KEK (derived from a public label: it is in this repository; refused elsewhere).
DEVELOPMENT_KEKS = (Kek("dev", hashlib.sha256(b"hotgigs development-only KEK, not secret").digest()),)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting of the service, validated; see `.env.example` for the documentation.

    The defaults below are the only place a default is written: `from_env` falls back to them,
    and tests/test_settings.py fails when .env.example, deploy/hotgigs.env.example, the
    README's configuration table or the Ansible roles say otherwise."""

    environment: str = "development"
    version: str = __version__
    database_url: str | None = None
    migration_database_url: str | None = None
    database_replica_url: str | None = None  # None: every read on the primary
    database_replica_max_lag_seconds: float = 10.0
    database_replica_check_seconds: float = 1.0
    redis_url: str | None = None
    state_redis_url: str | None = None
    data_dir: Path = Path("var")
    jwt_secret_key: str = DEVELOPMENT_JWT_SECRET
    jwt_access_token_expires: int = 3600
    jwt_keys_file: Path | None = None  # the JWT key set (None: JWT_SECRET_KEY alone signs)
    jwt_key_set: jwt_keys.KeySet | None = dataclasses.field(default=None, repr=False)
    grpc_address: Address = Address("127.0.0.1", 50051)
    http_address: Address = Address("127.0.0.1", 8080)
    envoy_admin_address: Address = Address("127.0.0.1", 9901)
    # gRPC over mutual TLS (None: plaintext, loopback development); see `TlsFiles`.
    grpc_tls: TlsFiles | None = None
    # Envoy's own certificate and the CA (workers', internal callers' certificates); used by
    # the upstream hop (`envoy_upstream_tls`) and the internal listener.
    envoy_tls: TlsFiles | None = None
    envoy_upstream_tls: bool = False
    envoy_upstream_sans: tuple[str, ...] = ()  # empty: the workers' IP addresses
    internal_grpc_address: Address | None = None  # Envoy's mTLS gRPC listener; None: none
    grpc_max_workers: int = 16
    shutdown_grace_seconds: float = 10.0
    drain_delay_seconds: float = 3.0
    health_check_interval_seconds: float = 2.0
    envoy_health_check_interval_seconds: float = 1.0
    envoy_max_connections: int = 10_000
    envoy_max_heap_mb: int = 1024
    request_timeout_seconds: float = 30.0
    # Every pooled connection is kept (no overflow): with overflow, a busy worker's RPC threads
    # (grpc_max_workers) beyond the kept ones opened a connection and closed it again per
    # request, a new PostgreSQL backend each time (issue 17: ~1 ms of PostgreSQL CPU per
    # uncached search). The 16th thread waits for a connection instead.
    db_pool_size: int = 15
    db_max_overflow: int = 0
    db_connect_timeout_seconds: int = 3
    cors_allowed_origins: tuple[str, ...] = ()
    log_level: str = "INFO"
    log_format: str = "auto"
    envoy_access_log: str = "/dev/stdout"
    jwt_refresh_token_expires: int = 30 * 86400
    session_idle_timeout_seconds: int = 7200
    auth_user_state_ttl_seconds: float = 5.0
    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    login_account_max_failures: int = 100
    rate_limit_per_minute: int = 100
    rate_limit_per_hour: int = 1000
    auth_rate_limit_per_minute: int = 10
    auth_rate_limit_per_hour: int = 100
    api_key_pepper: str | None = DEVELOPMENT_API_KEY_PEPPER  # None: API keys are off
    encryption_keks: tuple[Kek, ...] = DEVELOPMENT_KEKS  # the first wraps, all unwrap
    service_account_rate_limit_per_minute: int = 600
    service_account_rate_limit_per_hour: int = 20_000
    audit_log_retention_days: int = 365
    proxy_secret: str = ""
    xff_trusted_hops: int = 0
    public_url: str = "http://127.0.0.1:8080"
    smtp_server: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "HotGigs <no-reply@hotgigs.local>"
    smtp_timeout_seconds: float = 10.0
    mail_poll_interval_seconds: float = 1.0
    document_allowed_types: tuple[str, ...] = DOCUMENT_TYPES
    document_max_bytes: int = 16 * 1024 * 1024
    openai_api_key: str | None = None
    metrics_address: Address | None = _METRICS_ADDRESS
    otel_endpoint: str | None = None
    rpc_telemetry: bool = True
    max_concurrent_rpcs: int = 64
    otel_sample_ratio: float = 1.0
    otel_service_name: str = "hotgigs-api"  # the workers' service.name in traces (OTEL_SERVICE_NAME)
    runbook_url: str | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4o-mini"
    openai_timeout_seconds: float = 5.0
    oidc_providers: tuple[OidcProvider, ...] = ()
    oidc_http_timeout_seconds: float = 3.0
    oidc_jwks_cache_seconds: int = 3600
    oidc_jwks_min_refresh_seconds: int = 60
    oidc_clock_leeway_seconds: int = 30
    oidc_allow_http_loopback: bool = False

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables (defaults to `os.environ`)."""
        read = _Reader(os.environ if environ is None else environ)
        get, address, integer, number = read.get, read.address, read.integer, read.number
        environment = read.environment(cls.environment)
        jwt_secret = get("JWT_SECRET_KEY")
        if jwt_secret is None:
            if environment != "development":
                raise ConfigError(
                    "JWT_SECRET_KEY is required outside development (HOTGIGS_ENV="
                    f"{environment}); use at least 32 random characters"
                )
            jwt_secret = DEVELOPMENT_JWT_SECRET
        elif len(jwt_secret) < 32:
            raise ConfigError("JWT_SECRET_KEY is too short: use at least 32 random characters")
        keys_file_name = get("JWT_KEYS_FILE")
        keys_file = Path(keys_file_name) if keys_file_name else None
        try:
            key_set = jwt_keys.load(keys_file) if keys_file else None
        except jwt_keys.KeySetError as error:
            raise ConfigError(f"JWT_KEYS_FILE: {error} (see `hotgigs keys --help`)") from None
        database_url = get("DATABASE_URL")
        redis_url = get("CACHE_REDIS_URL")
        if environment == "production" and (database_url is None or redis_url is None):
            raise ConfigError(
                "DATABASE_URL and CACHE_REDIS_URL are required in production "
                "(the embedded servers are for development and tests only)"
            )
        log_format = (get("HOTGIGS_LOG_FORMAT") or cls.log_format).lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"HOTGIGS_LOG_FORMAT={log_format!r}: expected one of {', '.join(LOG_FORMATS)}")
        log_level = (get("HOTGIGS_LOG_LEVEL") or cls.log_level).upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"HOTGIGS_LOG_LEVEL={log_level!r}: expected DEBUG, INFO, WARNING or ERROR")

        def bounded(name: str, default: float, minimum: float, maximum: float) -> float:
            value = number(name, default, minimum)
            if value > maximum:
                raise ConfigError(f"{name}={value:g}: must be at most {maximum:g} (the promised "
                                  "staleness bound)")
            return value

        proxy_secret = read.proxy_secret(environment)
        document_types = tuple(t.strip().lower() for t in (get("DOCUMENT_ALLOWED_TYPES")
                                                           or ",".join(cls.document_allowed_types)
                                                           ).split(",") if t.strip())
        unknown_types = sorted(set(document_types) - set(DOCUMENT_TYPES))
        if unknown_types or not document_types:
            raise ConfigError(f"DOCUMENT_ALLOWED_TYPES: {', '.join(unknown_types) or 'empty'} not "
                              f"supported; choose from {', '.join(DOCUMENT_TYPES)}")
        origins = read.origins()
        allow_http_loopback = read.switch("HOTGIGS_OIDC_ALLOW_HTTP_LOOPBACK",
                                          cls.oidc_allow_http_loopback)
        if allow_http_loopback and environment == "production":
            raise ConfigError("HOTGIGS_OIDC_ALLOW_HTTP_LOOPBACK is for development and tests: "
                              "identity providers are reached over https:// in production")
        try:
            providers = oidc_providers.parse(get, allow_http_loopback=allow_http_loopback)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        envoy_tls = read.envoy_tls()
        settings = cls(
            environment=environment,
            database_url=database_url,
            migration_database_url=get("MIGRATION_DATABASE_URL"),
            database_replica_url=database_url_or_none("DATABASE_REPLICA_URL",
                                                      get("DATABASE_REPLICA_URL")),
            database_replica_max_lag_seconds=bounded_number(
                "DATABASE_REPLICA_MAX_LAG_SECONDS", number, cls.database_replica_max_lag_seconds,
                0.1, 3600.0),
            database_replica_check_seconds=bounded_number(
                "DATABASE_REPLICA_CHECK_SECONDS", number, cls.database_replica_check_seconds,
                0.05, 60.0),
            redis_url=redis_url,
            state_redis_url=get("STATE_REDIS_URL"),
            data_dir=Path(get("HOTGIGS_DATA_DIR") or cls.data_dir),
            jwt_secret_key=jwt_secret,
            jwt_access_token_expires=integer("JWT_ACCESS_TOKEN_EXPIRES",
                                             cls.jwt_access_token_expires, 60, 86400),
            jwt_keys_file=keys_file,
            jwt_key_set=key_set,
            grpc_address=address("HOTGIGS_GRPC_ADDRESS", cls.grpc_address),
            http_address=address("HOTGIGS_HTTP_ADDRESS", cls.http_address),
            envoy_admin_address=address("HOTGIGS_ENVOY_ADMIN_ADDRESS", cls.envoy_admin_address),
            grpc_tls=read.tls_files(GRPC_TLS_VARIABLES),
            envoy_tls=envoy_tls.files, envoy_upstream_tls=envoy_tls.upstream,
            envoy_upstream_sans=envoy_tls.upstream_sans,
            internal_grpc_address=envoy_tls.internal_address,
            grpc_max_workers=integer("HOTGIGS_GRPC_MAX_WORKERS", cls.grpc_max_workers, 1, 1024),
            shutdown_grace_seconds=number("HOTGIGS_SHUTDOWN_GRACE_SECONDS",
                                          cls.shutdown_grace_seconds, 0.0),
            drain_delay_seconds=number("HOTGIGS_DRAIN_DELAY_SECONDS", cls.drain_delay_seconds, 0.0),
            health_check_interval_seconds=number("HOTGIGS_HEALTH_CHECK_INTERVAL_SECONDS",
                                                 cls.health_check_interval_seconds, 0.1),
            envoy_health_check_interval_seconds=number("HOTGIGS_ENVOY_HEALTH_CHECK_INTERVAL_SECONDS",
                                                       cls.envoy_health_check_interval_seconds, 0.05),
            envoy_max_connections=integer("HOTGIGS_ENVOY_MAX_CONNECTIONS",
                                          cls.envoy_max_connections, 1, 10_000_000),
            envoy_max_heap_mb=integer("HOTGIGS_ENVOY_MAX_HEAP_MB",
                                      cls.envoy_max_heap_mb, 64, 1024 * 1024),
            request_timeout_seconds=number("HOTGIGS_REQUEST_TIMEOUT_SECONDS",
                                           cls.request_timeout_seconds, 0.1),
            db_pool_size=integer("HOTGIGS_DB_POOL_SIZE", cls.db_pool_size, 1, 500),
            db_max_overflow=integer("HOTGIGS_DB_MAX_OVERFLOW", cls.db_max_overflow, 0, 500),
            db_connect_timeout_seconds=integer("HOTGIGS_DB_CONNECT_TIMEOUT_SECONDS",
                                               cls.db_connect_timeout_seconds, 1, 60),
            cors_allowed_origins=origins,
            log_level=log_level,
            log_format=log_format,
            envoy_access_log=get("HOTGIGS_ENVOY_ACCESS_LOG") or cls.envoy_access_log,
            jwt_refresh_token_expires=integer("JWT_REFRESH_TOKEN_EXPIRES",
                                              cls.jwt_refresh_token_expires, 300, 365 * 86400),
            session_idle_timeout_seconds=integer("SESSION_IDLE_TIMEOUT_SECONDS",
                                                 cls.session_idle_timeout_seconds, 60, 30 * 86400),
            auth_user_state_ttl_seconds=bounded("AUTH_USER_STATE_TTL_SECONDS",
                                                cls.auth_user_state_ttl_seconds, 0.0, 5.0),
            login_max_failures=integer("LOGIN_MAX_FAILURES", cls.login_max_failures, 1, 100),
            login_lockout_seconds=integer("LOGIN_LOCKOUT_SECONDS",
                                          cls.login_lockout_seconds, 1, 86400),
            login_account_max_failures=integer("LOGIN_ACCOUNT_MAX_FAILURES",
                                               cls.login_account_max_failures, 1, 1_000_000),
            rate_limit_per_minute=integer("RATE_LIMIT_PER_MINUTE",
                                          cls.rate_limit_per_minute, 1, 1_000_000),
            rate_limit_per_hour=integer("RATE_LIMIT_PER_HOUR",
                                        cls.rate_limit_per_hour, 1, 10_000_000),
            auth_rate_limit_per_minute=integer("AUTH_RATE_LIMIT_PER_MINUTE",
                                               cls.auth_rate_limit_per_minute, 1, 1_000_000),
            auth_rate_limit_per_hour=integer("AUTH_RATE_LIMIT_PER_HOUR",
                                             cls.auth_rate_limit_per_hour, 1, 10_000_000),
            api_key_pepper=read.api_key_pepper(environment),
            encryption_keks=read.encryption_keks(environment),
            service_account_rate_limit_per_minute=integer(
                "SERVICE_ACCOUNT_RATE_LIMIT_PER_MINUTE", cls.service_account_rate_limit_per_minute,
                1, 1_000_000),
            service_account_rate_limit_per_hour=integer(
                "SERVICE_ACCOUNT_RATE_LIMIT_PER_HOUR", cls.service_account_rate_limit_per_hour,
                1, 10_000_000),
            audit_log_retention_days=integer("AUDIT_LOG_RETENTION_DAYS",
                                             cls.audit_log_retention_days, 1, 36_500),
            proxy_secret=proxy_secret,
            xff_trusted_hops=integer("HOTGIGS_XFF_TRUSTED_HOPS", cls.xff_trusted_hops, 0, 10),
            public_url=(get("HOTGIGS_PUBLIC_URL") or cls.public_url).rstrip("/"),
            smtp_server=get("SMTP_SERVER"),
            smtp_port=integer("SMTP_PORT", cls.smtp_port, 1, 65535),
            smtp_username=get("SMTP_USERNAME"),
            smtp_password=get("SMTP_PASSWORD"),
            smtp_from=get("SMTP_FROM") or cls.smtp_from,
            smtp_timeout_seconds=number("SMTP_TIMEOUT_SECONDS", cls.smtp_timeout_seconds, 0.1),
            mail_poll_interval_seconds=number("MAIL_POLL_INTERVAL_SECONDS",
                                              cls.mail_poll_interval_seconds, 0.05),
            document_allowed_types=document_types,
            document_max_bytes=integer("DOCUMENT_MAX_BYTES", cls.document_max_bytes, 1024,
                                       16 * 1024 * 1024),
            openai_api_key=get("OPENAI_API_KEY"),
            otel_endpoint=get("OTEL_EXPORTER_OTLP_ENDPOINT"),
            rpc_telemetry=(get("HOTGIGS_RPC_TELEMETRY") or "on").lower() != "off",
            max_concurrent_rpcs=integer("HOTGIGS_MAX_CONCURRENT_RPCS",
                                        cls.max_concurrent_rpcs, 1, 100_000),
            otel_sample_ratio=read.bounded_number("OTEL_TRACES_SAMPLER_ARG", cls.otel_sample_ratio,
                                                  0.0, 1.0),
            otel_service_name=read.service_name(cls.otel_service_name),
            runbook_url=runbook_url(get("HOTGIGS_RUNBOOK_URL")),
            metrics_address=None if (get("HOTGIGS_METRICS_ADDRESS") or "").lower() == "off"
            else address("HOTGIGS_METRICS_ADDRESS", _METRICS_ADDRESS),
            openai_base_url=(get("OPENAI_BASE_URL") or cls.openai_base_url).rstrip("/"),
            openai_model=get("OPENAI_MODEL") or cls.openai_model,
            openai_timeout_seconds=number("OPENAI_TIMEOUT_SECONDS",
                                          cls.openai_timeout_seconds, 0.1),
            oidc_providers=providers,
            oidc_http_timeout_seconds=read.bounded_number(
                "HOTGIGS_OIDC_HTTP_TIMEOUT_SECONDS", cls.oidc_http_timeout_seconds, 0.1, 10.0),
            oidc_jwks_cache_seconds=integer("HOTGIGS_OIDC_JWKS_CACHE_SECONDS",
                                            cls.oidc_jwks_cache_seconds, 60, 86400),
            oidc_jwks_min_refresh_seconds=integer("HOTGIGS_OIDC_JWKS_MIN_REFRESH_SECONDS",
                                                  cls.oidc_jwks_min_refresh_seconds, 0, 3600),
            oidc_clock_leeway_seconds=integer("HOTGIGS_OIDC_CLOCK_LEEWAY_SECONDS",
                                              cls.oidc_clock_leeway_seconds, 0, 300),
            oidc_allow_http_loopback=allow_http_loopback,
        )
        refuse_public_development_key(settings)
        return settings


@dataclasses.dataclass(frozen=True)
class EdgeSettings:
    """The reduced settings Envoy's configuration is rendered from (`hotgigs envoy-config`):
    what a pure edge host has. No database, Redis or signing key: an edge never holds them."""

    environment: str = Settings.environment
    grpc_address: Address = Settings.grpc_address
    http_address: Address = Settings.http_address
    envoy_admin_address: Address = Settings.envoy_admin_address
    envoy_tls: TlsFiles | None = None
    envoy_upstream_tls: bool = Settings.envoy_upstream_tls
    envoy_upstream_sans: tuple[str, ...] = ()
    internal_grpc_address: Address | None = None
    envoy_health_check_interval_seconds: float = Settings.envoy_health_check_interval_seconds
    envoy_max_connections: int = Settings.envoy_max_connections
    envoy_max_heap_mb: int = Settings.envoy_max_heap_mb
    request_timeout_seconds: float = Settings.request_timeout_seconds
    cors_allowed_origins: tuple[str, ...] = ()
    envoy_access_log: str = Settings.envoy_access_log
    proxy_secret: str = ""
    xff_trusted_hops: int = Settings.xff_trusted_hops
    otel_endpoint: str | None = None
    otel_sample_ratio: float = Settings.otel_sample_ratio
    otel_service_name: str = "hotgigs-envoy"  # Envoy's service.name in traces (OTEL_SERVICE_NAME)
    max_concurrent_rpcs: int = Settings.max_concurrent_rpcs

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> EdgeSettings:
        """Envoy's settings only; every other variable is ignored, none is required but
        HOTGIGS_PROXY_SECRET in production (the same checks as `Settings.from_env`)."""
        read = _Reader(os.environ if environ is None else environ)
        environment = read.environment(cls.environment)
        envoy_tls = read.envoy_tls()
        return cls(
            environment=environment,
            grpc_address=read.address("HOTGIGS_GRPC_ADDRESS", cls.grpc_address),
            http_address=read.address("HOTGIGS_HTTP_ADDRESS", cls.http_address),
            envoy_admin_address=read.address("HOTGIGS_ENVOY_ADMIN_ADDRESS", cls.envoy_admin_address),
            envoy_tls=envoy_tls.files, envoy_upstream_tls=envoy_tls.upstream,
            envoy_upstream_sans=envoy_tls.upstream_sans,
            internal_grpc_address=envoy_tls.internal_address,
            envoy_health_check_interval_seconds=read.number(
                "HOTGIGS_ENVOY_HEALTH_CHECK_INTERVAL_SECONDS", cls.envoy_health_check_interval_seconds,
                0.05),
            envoy_max_connections=read.integer("HOTGIGS_ENVOY_MAX_CONNECTIONS", cls.envoy_max_connections,
                                               1, 10_000_000),
            envoy_max_heap_mb=read.integer("HOTGIGS_ENVOY_MAX_HEAP_MB", cls.envoy_max_heap_mb,
                                           64, 1024 * 1024),
            request_timeout_seconds=read.number("HOTGIGS_REQUEST_TIMEOUT_SECONDS",
                                                cls.request_timeout_seconds, 0.1),
            cors_allowed_origins=read.origins(),
            envoy_access_log=read.get("HOTGIGS_ENVOY_ACCESS_LOG") or cls.envoy_access_log,
            proxy_secret=read.proxy_secret(environment),
            xff_trusted_hops=read.integer("HOTGIGS_XFF_TRUSTED_HOPS", cls.xff_trusted_hops, 0, 10),
            otel_endpoint=read.get("OTEL_EXPORTER_OTLP_ENDPOINT"),
            otel_sample_ratio=read.bounded_number("OTEL_TRACES_SAMPLER_ARG", cls.otel_sample_ratio,
                                                  0.0, 1.0),
            otel_service_name=read.service_name(cls.otel_service_name),
            max_concurrent_rpcs=read.integer("HOTGIGS_MAX_CONCURRENT_RPCS", cls.max_concurrent_rpcs,
                                             1, 100_000),
        )


class EnvoyTls(NamedTuple):
    """Envoy's TLS settings as read (`_Reader.envoy_tls`)."""

    files: TlsFiles | None
    upstream: bool
    upstream_sans: tuple[str, ...]
    internal_address: Address | None


class _Reader:
    """Reads and checks one environment's variables; every problem is a ConfigError naming one."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def get(self, name: str) -> str | None:
        value = self.environ.get(name, "").strip()
        return value or None

    def environment(self, default: str) -> str:
        environment = self.get("HOTGIGS_ENV") or default
        if environment not in ENVIRONMENTS:
            raise ConfigError(f"HOTGIGS_ENV={environment!r}: expected one of {', '.join(ENVIRONMENTS)}")
        return environment

    def address(self, name: str, default: Address) -> Address:
        value = self.get(name)
        return default if value is None else Address.parse(name, value)

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        value = self.get(name)
        return default if value is None else _parse_int(name, value, minimum, maximum)

    def number(self, name: str, default: float, minimum: float) -> float:
        value = self.get(name)
        if value is None:
            return default
        try:
            parsed = float(value)
        except ValueError:
            raise ConfigError(f"{name}={value!r}: expected a number") from None
        if parsed < minimum:
            raise ConfigError(f"{name}={value!r}: must be at least {minimum}")
        return parsed

    def bounded_number(self, name: str, default: float, minimum: float, maximum: float) -> float:
        value = self.number(name, default, minimum)
        if value > maximum:
            raise ConfigError(f"{name}={value:g}: must be at most {maximum:g}")
        return value

    def service_name(self, default: str) -> str:
        """OTEL_SERVICE_NAME: the service.name of this process's spans (letters, digits, . _ -)."""
        value = self.get("OTEL_SERVICE_NAME") or default
        if not _SERVICE_NAME.fullmatch(value):
            raise ConfigError(f"OTEL_SERVICE_NAME={value[:80]!r}: expected 1-63 letters, digits, '.', '_' "
                              "or '-', starting with a letter or digit")
        return value

    def switch(self, name: str, default: bool) -> bool:
        value = (self.get(name) or ("on" if default else "off")).lower()
        if value not in ("on", "off", "true", "false", "1", "0"):
            raise ConfigError(f"{name}={value!r}: expected on or off")
        return value in ("on", "true", "1")

    def tls_files(self, names: tuple[str, str, str]) -> TlsFiles | None:
        """Three file variables (certificate chain, key, CA bundle): all set or none; each an
        existing file. Their contents are checked where they are used (hotgigs.grpc_server.tls,
        Envoy's validation)."""
        values = [self.get(name) for name in names]
        if not any(values):
            return None
        missing = [name for name, value in zip(names, values, strict=True) if value is None]
        if missing:
            raise ConfigError(f"{', '.join(missing)}: set {', '.join(names)} together (mutual "
                              "TLS needs a certificate, its key and the CA), or none of them")
        for name, value in zip(names, values, strict=True):
            if not Path(str(value)).is_file():
                raise ConfigError(f"{name}={value}: no such file")
        cert, key, ca = (Path(str(value)) for value in values)
        return TlsFiles(cert_file=cert, key_file=key, ca_file=ca)

    def envoy_tls(self) -> EnvoyTls:
        """Envoy's TLS settings (Settings and EdgeSettings alike): its identity files, mTLS to
        the workers (HOTGIGS_ENVOY_UPSTREAM_TLS), the workers' accepted names, and the
        internal listener, which always requires client certificates."""
        files = self.tls_files(ENVOY_TLS_VARIABLES)
        upstream = self.switch("HOTGIGS_ENVOY_UPSTREAM_TLS", False)
        internal = self.get("HOTGIGS_INTERNAL_GRPC_ADDRESS")
        if files is None and (upstream or internal):
            wanted = "HOTGIGS_ENVOY_UPSTREAM_TLS=on" if upstream else "HOTGIGS_INTERNAL_GRPC_ADDRESS"
            raise ConfigError(f"{wanted} needs Envoy's certificate: set "
                              f"{', '.join(ENVOY_TLS_VARIABLES)}")
        sans = tuple(name.strip() for name in (self.get("HOTGIGS_ENVOY_UPSTREAM_SANS") or "").split(",")
                     if name.strip())
        for san in sans:
            if not re.fullmatch(r"[A-Za-z0-9.:*-]{1,253}", san):
                raise ConfigError(f"HOTGIGS_ENVOY_UPSTREAM_SANS: {san!r} is not a DNS name or an "
                                  "IP address")
        return EnvoyTls(files, upstream, sans, None if internal is None
                        else Address.parse("HOTGIGS_INTERNAL_GRPC_ADDRESS", internal))

    def proxy_secret(self, environment: str) -> str:
        proxy_secret = self.get("HOTGIGS_PROXY_SECRET")
        if proxy_secret is None:
            if environment == "production":
                raise ConfigError("HOTGIGS_PROXY_SECRET is required in production: the shared secret "
                                  "Envoy sends so workers trust its client-address header")
            return secrets.token_urlsafe(24)  # one process renders Envoy and serves
        if len(proxy_secret) < 16:
            raise ConfigError("HOTGIGS_PROXY_SECRET is too short: use at least 16 random characters")
        return proxy_secret

    def api_key_pepper(self, environment: str) -> str | None:
        """HOTGIGS_API_KEY_PEPPER: the server-side secret API keys are hashed with. Unset
        outside development, service-account keys are off (refused, none can be made)."""
        pepper = self.get("HOTGIGS_API_KEY_PEPPER")
        if pepper is None:
            return DEVELOPMENT_API_KEY_PEPPER if environment == "development" else None
        if len(pepper) < 32:
            raise ConfigError("HOTGIGS_API_KEY_PEPPER is too short: use at least 32 random characters")
        if pepper == DEVELOPMENT_API_KEY_PEPPER and environment != "development":
            raise ConfigError("HOTGIGS_API_KEY_PEPPER: the public development pepper is refused "
                              "outside development; use 32+ random characters")
        return pepper

    def encryption_keks(self, environment: str) -> tuple[Kek, ...]:
        """HOTGIGS_ENCRYPTION_KEKS: `id:base64,id:base64...`, 32-byte AES keys; the first wraps
        new data, the others only unwrap (rotation). Required outside development."""
        name = "HOTGIGS_ENCRYPTION_KEKS"
        value = self.get(name)
        if value is None:
            if environment != "development":
                raise ConfigError(f"{name} is required outside development (HOTGIGS_ENV="
                                  f"{environment}): id:base64-key, e.g. k1:$(openssl rand -base64 32)")
            return DEVELOPMENT_KEKS
        keks: list[Kek] = []
        for item in (part.strip() for part in value.split(",")):
            kek_id, sep, encoded = item.partition(":")
            if not sep or not KEK_ID.fullmatch(kek_id):
                raise ConfigError(f"{name}: expected id:base64-key items separated by commas, ids "
                                  "of 1-32 letters, digits, - or _ (e.g. k2:...,k1:...)")
            try:
                material = base64.b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4),
                                            altchars=b"-_" if "-" in encoded or "_" in encoded
                                            else None, validate=True)
            except (binascii.Error, ValueError):
                raise ConfigError(f"{name}: the key of {kek_id!r} is not base64") from None
            if len(material) != 32:
                raise ConfigError(f"{name}: the key of {kek_id!r} is {len(material)} bytes, must be "
                                  "32 (openssl rand -base64 32)")
            if any(kek.id == kek_id for kek in keks):
                raise ConfigError(f"{name}: the id {kek_id!r} is listed twice")
            keks.append(Kek(kek_id, material))
        if environment != "development" and any(
                kek.material == dev.material for kek in keks for dev in DEVELOPMENT_KEKS):
            raise ConfigError(f"{name}: the public development key is refused outside development")
        return tuple(keks)

    def origins(self) -> tuple[str, ...]:
        origins = tuple(o.strip() for o in (self.get("CORS_ORIGINS") or "").split(",") if o.strip())
        for origin in origins:
            if not (origin.startswith(("http://", "https://")) or origin == "*"):
                raise ConfigError(f"CORS_ORIGINS: {origin!r} is not an origin like https://app.example.com")
        return origins


def jwt_keys_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """JWT_KEYS_FILE alone, for `hotgigs keys` (which may create the file)."""
    value = _Reader(os.environ if environ is None else environ).get("JWT_KEYS_FILE")
    return Path(value) if value else None


def runbook_url(value: str | None) -> str | None:
    """HOTGIGS_RUNBOOK_URL: where observability/runbook.md is published (alerts link there)."""
    if value is not None and not value.startswith(("https://", "http://", "file:///")):
        raise ConfigError(f"HOTGIGS_RUNBOOK_URL={value!r}: expected an absolute http(s):// or "
                          "file:/// URL")
    return value


_DATABASE_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")


def database_url_or_none(name: str, value: str | None) -> str | None:
    """A PostgreSQL URL (`postgresql://user:password@host:port/database?sslmode=...`), checked
    enough that a typo fails at start-up rather than on the first query; None stays None."""
    if value is None:
        return None
    from urllib.parse import parse_qs, urlsplit

    try:
        parts = urlsplit(value)
        port = parts.port  # raises on a port that is not a number or out of range
    except ValueError as error:
        raise ConfigError(f"{name}: not a valid URL ({error}); expected "
                          "postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from None
    has_host = bool(parts.hostname) or "host" in parse_qs(parts.query)
    database = parts.path.lstrip("/")
    if parts.scheme not in _DATABASE_SCHEMES or not has_host or not database or "/" in database:
        raise ConfigError(f"{name}: expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
                          f"(scheme {', '.join(_DATABASE_SCHEMES)}, a host and a database)")
    del port
    return value


def bounded_number(name: str, number: Callable[[str, float, float], float], default: float,
                   minimum: float, maximum: float) -> float:
    """`number(name, default, minimum)`, also refused above `maximum`."""
    value = number(name, default, minimum)
    if value > maximum:
        raise ConfigError(f"{name}={value:g}: must be at most {maximum:g}")
    return value


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost may resolve anywhere
        return False


def refuse_public_development_key(settings: Settings) -> None:
    """The development signing key is in this repository, so anyone who can reach a listener
    could mint an admin token: refuse it unless every listener is on loopback."""
    if settings.jwt_secret_key != DEVELOPMENT_JWT_SECRET:
        return
    listeners = {"HOTGIGS_GRPC_ADDRESS": settings.grpc_address,
                 "HOTGIGS_HTTP_ADDRESS": settings.http_address,
                 "HOTGIGS_ENVOY_ADMIN_ADDRESS": settings.envoy_admin_address,
                 "HOTGIGS_METRICS_ADDRESS": settings.metrics_address,
                 "HOTGIGS_INTERNAL_GRPC_ADDRESS": settings.internal_grpc_address}
    public = [f"{name}={address}" for name, address in listeners.items()
              if address is not None and not is_loopback(address.host)]
    if settings.environment != "development":
        raise ConfigError("JWT_SECRET_KEY: the public development key is refused outside "
                          "development; use 32+ random characters")
    if public:
        raise ConfigError(
            "JWT_SECRET_KEY: refusing the public development key (anyone could sign an admin "
            f"token with it) while {', '.join(public)} listens beyond loopback; set "
            "JWT_SECRET_KEY to 32+ random characters (e.g. `openssl rand -base64 32`) or listen "
            "on 127.0.0.1 only")


def _parse_int(name: str, text: str, minimum: int, maximum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: expected a whole number") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}={text!r}: must be between {minimum} and {maximum}")
    return value
