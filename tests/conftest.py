"""Real servers for the tests: PostgreSQL and Redis from the embedded wheels, the gRPC server
and a real Envoy in front of it. Session-scoped; each is started once and stopped at the end."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from hotgigs import migrate, stack
from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from hotgigs.grpc_server.server import GrpcServer, create_server
from hotgigs.settings import Address, Settings
from http_bridge import envoy_config
from http_bridge.envoy_process import EnvoyProcess, validate

_database_numbers = itertools.count(1)
_envoy_base_ids = itertools.count(100)


@pytest.fixture(scope="session")
def embedded_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres"))
    server.start()
    yield server
    server.stop()


def new_database(server: EmbeddedPostgres) -> str:
    """A fresh, empty database on `server`; returns its SQLAlchemy URL."""
    return server.create_database(f"hotgigs_test_{next(_database_numbers)}")


@pytest.fixture(scope="session")
def postgres_url(embedded_postgres: EmbeddedPostgres) -> str:
    """A fresh EMPTY database (for migration tests)."""
    return new_database(embedded_postgres)


@pytest.fixture(scope="session")
def migrated_database_url(embedded_postgres: EmbeddedPostgres) -> str:
    """A fresh database upgraded to the newest schema."""
    url = new_database(embedded_postgres)
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "data_dir": data_dir,
        "grpc_address": Address("127.0.0.1", 0),
        "health_check_interval_seconds": 0.2,
        "shutdown_grace_seconds": 5.0,
        "cors_allowed_origins": ("https://app.hotgigs.test",),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("hotgigs"))


@pytest.fixture(scope="session")
def database(migrated_database_url: str) -> Iterator[Database]:
    db = Database(migrated_database_url)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def cache(redis_server: EmbeddedRedis) -> Iterator[Cache]:
    client = Cache(redis_server.url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def grpc_server(settings: Settings, database: Database, cache: Cache) -> Iterator[GrpcServer]:
    server = create_server(settings, database, cache)
    server.start()
    yield server
    server.stop(0)


@pytest.fixture(scope="session")
def grpc_channel(grpc_server: GrpcServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{grpc_server.port}") as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield channel


class RunningEnvoy:
    """A started Envoy: its REST base URL, admin URL, config and access log paths."""

    def __init__(self, process: EnvoyProcess, base_url: str, config_path: Path,
                 access_log: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.admin_url = process.admin_url
        self.config_path = config_path
        self.access_log = access_log


@contextlib.contextmanager
def start_envoy(settings: Settings, grpc_port: int, workdir: Path) -> Iterator[RunningEnvoy]:
    """Render, validate and start an Envoy in front of `grpc_port` on free loopback ports."""
    listen_port, admin_port = free_port(), free_port()
    access_log = workdir / "access.log"
    options = envoy_config.EnvoyOptions(
        listen_host="127.0.0.1", listen_port=listen_port, admin_host="127.0.0.1",
        admin_port=admin_port, upstreams=[("127.0.0.1", grpc_port)],
        descriptor_path=stack.descriptor_path(),
        services=[s.full_name for s in stack.registry.api_services()],
        cors_allowed_origins=settings.cors_allowed_origins, access_log_path=str(access_log),
    )
    config_path = envoy_config.write(options, workdir / "envoy.yaml")
    validate(config_path)
    process = EnvoyProcess(config_path, admin_url=f"http://127.0.0.1:{admin_port}",
                           base_id=next(_envoy_base_ids), log_path=workdir / "envoy.log")
    process.start()
    try:
        yield RunningEnvoy(process, f"http://127.0.0.1:{listen_port}", config_path, access_log)
    finally:
        process.stop()


@pytest.fixture(scope="session")
def envoy(settings: Settings, grpc_server: GrpcServer,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEnvoy]:
    with start_envoy(settings, grpc_server.port, tmp_path_factory.mktemp("envoy")) as running:
        yield running


@pytest.fixture
def rest(envoy: RunningEnvoy) -> Iterator[httpx.Client]:
    """An HTTP client for the REST API through Envoy (no automatic decompression surprises)."""
    with httpx.Client(base_url=envoy.base_url, timeout=10) as client:
        yield client
