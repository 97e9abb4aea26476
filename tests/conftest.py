"""Real servers for the tests: PostgreSQL and Redis from the embedded wheels, the gRPC server
and a real Envoy in front of it. Session-scoped; each is started once and stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from hotgigs.grpc_server.server import GrpcServer, create_server
from hotgigs.mail.sender import MailSender
from hotgigs.settings import Settings
from tests.support.otlp import Receiver, running_receiver
from tests.support.servers import (
    MailBox,
    RunningEnvoy,
    make_settings,
    new_database,
    new_migrated_database,
    start_envoy,
    suite_keyring,
)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    """A real OTLP/gRPC trace receiver for this test."""
    with running_receiver() as started:
        yield started


@pytest.fixture(scope="session")
def embedded_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url(embedded_postgres: EmbeddedPostgres) -> str:
    """A fresh EMPTY database (for migration tests)."""
    return new_database(embedded_postgres)


@pytest.fixture(scope="session")
def migrated_database_url(embedded_postgres: EmbeddedPostgres) -> str:
    """The suite's database (the one the session's gRPC server uses), at the newest schema."""
    return new_migrated_database(embedded_postgres)


@pytest.fixture(scope="module")
def own_database(embedded_postgres: EmbeddedPostgres) -> Iterator[Database]:
    """A migrated database of this test module's own, for tests that count rows, seed data or
    stop servers: nothing else writes to it."""
    database = Database(new_migrated_database(embedded_postgres), keyring=suite_keyring())
    yield database
    database.dispose()


@pytest.fixture
def session(own_database: Database) -> Iterator[Session]:
    """A session in a transaction that is rolled back after the test, its commits included
    (they become savepoints): every test sees only the rows it writes."""
    with own_database.engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            yield session
        transaction.rollback()


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


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
    db = Database(migrated_database_url, keyring=suite_keyring())
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
