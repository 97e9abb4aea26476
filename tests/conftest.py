"""Real servers for the tests: PostgreSQL and Redis from the embedded wheels, the gRPC server
and a real Envoy in front of it. Session-scoped; each is started once and stopped at the end."""

from __future__ import annotations

import contextlib
import dataclasses
import email
import email.message
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from hotgigs import migrate
from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev import stack
from hotgigs.dev.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from hotgigs.grpc_server.server import GrpcServer, create_server
from hotgigs.mail.sender import MailSender
from hotgigs.settings import Address, Settings
from http_bridge.envoy_process import EnvoyProcess

_database_numbers = itertools.count(1)


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
        "proxy_secret": "test-proxy-secret-0123456789",
        "jwt_secret_key": "test-jwt-secret-0123456789-0123456789-abcdef",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


class MailBox:
    """Messages received by the test SMTP server."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.original_content or b"")
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.Message]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[email.message.Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no mail for {address} within {timeout}s")


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[int, MailBox]]:
    """A real SMTP server (aiosmtpd) on loopback, collecting what it receives."""
    mailbox = MailBox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


@pytest.fixture(scope="session")
def mailbox(smtp_server: tuple[int, MailBox]) -> MailBox:
    return smtp_server[1]


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, smtp_server: tuple[int, MailBox]) -> Settings:
    # Generous rate limits here: the many registrations of the suite come from one address.
    # tests/test_rate_limits.py runs its own server with the real defaults.
    return make_settings(tmp_path_factory.mktemp("hotgigs"), smtp_server="127.0.0.1",
                         smtp_port=smtp_server[0], mail_poll_interval_seconds=0.05,
                         auth_rate_limit_per_minute=100_000, auth_rate_limit_per_hour=100_000,
                         rate_limit_per_minute=100_000, rate_limit_per_hour=100_000)


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
    sender = MailSender(settings, database)
    sender.start()
    yield server
    sender.stop()
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
    """The application's own Envoy (stack.envoy) in front of `grpc_port`, on free loopback
    ports, with its config, logs and access log under `workdir`."""
    access_log = workdir / "access.log"
    local = dataclasses.replace(
        settings, data_dir=workdir, envoy_access_log=str(access_log),
        http_address=Address("127.0.0.1", free_port()),
        envoy_admin_address=Address("127.0.0.1", free_port()))
    with stack.envoy(local, grpc_port) as process:
        yield RunningEnvoy(process, f"http://{local.http_address}", process.config_path,
                           access_log)


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
