"""Servers and settings for tests: the suite's own (tests/conftest.py) and those tests start
for themselves (a second worker, an Envoy with other settings, a PostgreSQL they stop)."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import email
import email.message
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from aiosmtpd.smtp import Envelope
from psycopg import sql
from sqlalchemy.engine import make_url

from hotgigs import migrate
from hotgigs.dev import database_roles, stack
from hotgigs.dev.embedded import EmbeddedPostgres, free_port
from hotgigs.security.encryption import KeyRing
from hotgigs.settings import Address, Kek, Settings
from http_bridge.envoy_process import EnvoyProcess

_database_numbers = itertools.count(1)
_TEMPLATE = "hotgigs_migrated_template"
_templates: set[Path] = set()  # the servers (by data folder) whose migrated template exists


def new_database(server: EmbeddedPostgres) -> str:
    """A fresh, empty database on `server`; returns its SQLAlchemy URL."""
    return server.create_database(f"hotgigs_test_{next(_database_numbers)}")


def new_migrated_database(server: EmbeddedPostgres) -> str:
    """A fresh database at the newest schema: a copy of the server's migrated template (the
    migrations run once per server as the schema owner, then CREATE DATABASE ... TEMPLATE
    copies it). Its URL is the application role's, as in production: no DDL, only rows."""
    if server.data_dir not in _templates:
        server.create_database(_TEMPLATE)
        database_roles.split(server.port, _TEMPLATE)
        migrate.upgrade(database_roles.url(server.port, _TEMPLATE, database_roles.MIGRATION_ROLE))
        _templates.add(server.data_dir)
    name = f"hotgigs_test_{next(_database_numbers)}"
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                sql.Identifier(_TEMPLATE))
    deadline = time.monotonic() + 30
    with psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres",
                         autocommit=True) as conn:
        while True:
            try:
                conn.execute(statement)
                break
            except psycopg.errors.ObjectInUse:
                # the migration's connection to the template is closed, but its backend may
                # not have exited yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    database_roles.split(server.port, name)  # the database's own grants are not copied
    return database_roles.url(server.port, name, database_roles.APP_ROLE)


def schema_owner_url(url: str) -> str:
    """The URL of a test database (`new_migrated_database`'s) as its schema owner, for what
    only the owner may do: ANALYZE, VACUUM, DDL."""
    return make_url(url).set(username=database_roles.MIGRATION_ROLE).render_as_string(hide_password=False)


# The suite's key-encryption key (tests that rotate make their own).
TEST_KEKS = (Kek("test1", bytes(range(32))),)
#: The same as HOTGIGS_ENCRYPTION_KEKS, for commands run as processes.
TEST_KEKS_ENV = "test1:" + base64.b64encode(bytes(range(32))).decode()


def suite_keyring() -> KeyRing:
    return KeyRing(TEST_KEKS)


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
        "api_key_pepper": "test-api-key-pepper-0123456789-0123456789",
        "encryption_keks": TEST_KEKS,
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


