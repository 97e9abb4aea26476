"""`hotgigs service-account`: bootstrap from the console, with a helpful --help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.models import AuditEntry, User
from hotgigs.settings import Settings
from tests.support.rest import register
from tests.support.servers import TEST_KEKS_ENV
from tests.support.waiting import eventually


def _hotgigs(*args: str, database_url: str, settings: Settings, tmp: Path
             ) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HOTGIGS_", "DATABASE_URL",
                                                                         "CACHE_REDIS_URL"))}
    environ.update({"HOTGIGS_ENV": "test", "DATABASE_URL": database_url,
                    "CACHE_REDIS_URL": "redis://127.0.0.1:1/0", "HOTGIGS_DATA_DIR": str(tmp),
                    "JWT_SECRET_KEY": settings.jwt_secret_key,
                    "HOTGIGS_API_KEY_PEPPER": str(settings.api_key_pepper),
                    "HOTGIGS_ENCRYPTION_KEKS": TEST_KEKS_ENV,
                    "HOTGIGS_PROXY_SECRET": settings.proxy_secret, "HOTGIGS_LOG_FORMAT": "json"})
    return subprocess.run([sys.executable, "-m", "hotgigs.cli", "service-account", *args],
                          capture_output=True, text=True, env=environ, timeout=120)


def test_help_explains_keys_scopes_and_rotation() -> None:
    result = subprocess.run([sys.executable, "-m", "hotgigs.cli", "service-account", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for phrase in ("x-api-key", "ApiKey", "ONCE", "rotate", "revoke", "jobs.read", "OWNER"):
        assert phrase in result.stdout, phrase


def test_create_list_rotate_revoke_from_the_console(
        rest: httpx.Client, migrated_database_url: str, database: Database, settings: Settings,
        tmp_path: Path) -> None:
    owner = register(rest, "company")
    name = f"cli-{owner['user']['id']}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return _hotgigs(*args, database_url=migrated_database_url, settings=settings, tmp=tmp_path)

    created = run("create", name, "--owner", owner["user"]["email"], "--scope", "jobs.read")
    assert created.returncode == 0, created.stderr
    # stdout holds the key alone (a script may capture it); notes and logs go to stderr
    key = created.stdout.removesuffix("\n")
    assert key.startswith("hg_") and "\n" not in key and "shown once" in created.stderr
    logged = [json.loads(line) for line in created.stderr.splitlines() if line.startswith("{")]
    assert logged and all("event" in entry for entry in logged), created.stderr
    assert rest.get("/api/jobs", headers={"x-api-key": key}).status_code == 200

    listed = run("list")
    assert name in listed.stdout and key not in listed.stdout
    prefix = key[3:15]
    assert f"key {prefix}  active" in listed.stdout

    rotated = run("rotate", name)
    new_key = rotated.stdout.removesuffix("\n")
    assert rotated.returncode == 0 and new_key.startswith("hg_") and "\n" not in new_key
    revoked = run("revoke", name, prefix)
    assert revoked.returncode == 0, revoked.stderr
    # Another process revoked it: the serving worker notices when its copy of the key's row
    # expires (AUTH_USER_STATE_TTL_SECONDS; the bound itself is tested in test_keys.py).
    eventually(lambda: rest.get("/api/jobs", headers={"x-api-key": key}).status_code == 401)
    assert rest.get("/api/jobs", headers={"x-api-key": new_key}).status_code == 200
    with database.session_scope() as session:
        actions = session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.details["via"].astext == "cli",
            AuditEntry.target.like("service_account:%"))).all()
        assert {"service_account.create", "service_account.key_create",
                "service_account.key_revoke"} <= set(actions)
        assert session.get(User, owner["user"]["id"]) is not None


@pytest.mark.parametrize(("args", "message"), [
    (("create", "x", "--owner", "nobody@example.com", "--scope", "jobs.read"), "no user"),
    (("rotate", "no-such-account"), "no service account"),
])
def test_mistakes_are_a_clear_message(args: tuple[str, ...], message: str, migrated_database_url: str,
                                      settings: Settings, tmp_path: Path) -> None:
    result = _hotgigs(*args, database_url=migrated_database_url, settings=settings, tmp=tmp_path)
    assert result.returncode == 1 and message in result.stderr
