"""Fixtures of the fault-injection tests: a database of their own on the session's PostgreSQL
server (tests that stop PostgreSQL start a server of their own)."""

from __future__ import annotations

import pytest

from hotgigs import migrate
from hotgigs.embedded import EmbeddedPostgres
from tests.conftest import new_database


@pytest.fixture(scope="package")
def fault_database_url(embedded_postgres: EmbeddedPostgres) -> str:
    url = new_database(embedded_postgres)
    migrate.upgrade(url)
    return url
