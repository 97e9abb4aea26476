"""The development stack (`hotgigs up`): embedded PostgreSQL and Redis for the settings left
unset, and a local Envoy process in front of the gRPC server. Production runs the same
pieces from hotgigs.runtime with configured servers, and Envoy under systemd."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import psycopg

from hotgigs import runtime
from hotgigs.dev import database_roles
from hotgigs.dev.embedded import CACHE_REDIS_CONFIG, STATE_REDIS_CONFIG, EmbeddedPostgres, EmbeddedRedis
from hotgigs.runtime import Dependencies
from hotgigs.settings import ConfigError, Settings
from http_bridge import envoy_config
from http_bridge.envoy_process import EnvoyProcess, validate

EMBEDDED_DATABASE = "hotgigs"


def _ensure_database(postgres: EmbeddedPostgres, name: str) -> tuple[str, str]:
    """The database `name` (created when missing) with production's split of roles: the
    application's URL and the schema owner's (for the migrations)."""
    with psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=postgres dbname=postgres",
                         autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if not exists:
        postgres.create_database(name)
    database_roles.split(postgres.port, name)
    return (database_roles.url(postgres.port, name, database_roles.APP_ROLE),
            database_roles.url(postgres.port, name, database_roles.MIGRATION_ROLE))


@contextlib.contextmanager
def dependencies(settings: Settings) -> Iterator[Dependencies]:
    """Yield the database and Redis URLs; start embedded servers for unset ones (development
    and test only) and stop them again on exit."""
    with contextlib.ExitStack() as stack:
        database_url, redis_url = settings.database_url, settings.redis_url
        migration_url, state_redis_url = settings.migration_database_url, settings.state_redis_url
        if (database_url is None or redis_url is None) and settings.environment == "production":
            raise ConfigError("DATABASE_URL and CACHE_REDIS_URL are required in production")
        if database_url is None:
            postgres = EmbeddedPostgres(settings.data_dir / "postgres")
            postgres.start()
            stack.callback(postgres.stop)
            database_url, migration_url = _ensure_database(postgres, EMBEDDED_DATABASE)
        if redis_url is None:  # production's two instances: the cache, and the state
            redis_server = EmbeddedRedis(settings.data_dir / "redis", config=CACHE_REDIS_CONFIG)
            redis_server.start()
            stack.callback(redis_server.stop)
            redis_url = redis_server.url
            if state_redis_url is None:
                state_server = EmbeddedRedis(settings.data_dir / "redis-state", config=STATE_REDIS_CONFIG)
                state_server.start()
                stack.callback(state_server.stop)
                state_redis_url = state_server.url
        yield Dependencies(database_url, redis_url,
                           embedded_database=settings.database_url is None,
                           embedded_redis=settings.redis_url is None, migration_url=migration_url,
                           state_redis_url=state_redis_url)


@contextlib.contextmanager
def envoy(settings: Settings, grpc_port: int | Sequence[int]) -> Iterator[EnvoyProcess]:
    """A validated, started Envoy in front of the gRPC server; stopped on exit."""
    config_path = envoy_config.write(runtime.envoy_options(settings, grpc_port, runtime.descriptor_path()),
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
