"""`hotgigs verify --url`: the post-deployment suites against the real stack, over TLS through
nginx and directly through Envoy, passing where the deployment is right and failing where not."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.grpc_server.server import create_server
from hotgigs.ops import verify
from tests.deploy.site import Site
from tests.support.servers import RunningEnvoy, make_settings, start_envoy


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, object]]]:
    capsys.readouterr()
    code = verify.main([*args, "--json"])
    lines = capsys.readouterr().out.splitlines()  # the in-process servers log here too
    start, end = lines.index("["), len(lines) - lines[::-1].index("]")
    checks: list[dict[str, object]] = json.loads("\n".join(lines[start:end]))
    return code, checks


def failed(checks: list[dict[str, object]]) -> list[str]:
    return [str(c["name"]) for c in checks if not c["ok"]]


PASSWORD = "Verify!Deploy-7q"  # the test verification accounts'


def over_tls(site: Site) -> tuple[str, ...]:
    return ("--url", site.https, "--ca-file", str(site.cert))


def account(tmp_path: Path, password: str = PASSWORD) -> tuple[str, ...]:
    """--account (new for each test) and --password-file options."""
    secret = tmp_path / "verify-password"
    secret.write_text(password + "\n")
    return ("--account", f"verify-{uuid.uuid4().hex[:10]}@verify.hotgigs.invalid",
            "--password-file", str(secret))


TABLES = ("users", "companies", "jobs", "job_applications", "experiences", "auth_sessions")


def rows(database: Database) -> dict[str, int]:
    with database.session_scope() as session:
        return {table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 - fixed names
                for table in TABLES}


def test_integration_and_security_over_tls(site: Site, capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    """The test stack runs with generous rate limits, so exactly the rate-limit check fails."""
    code, checks = run(capsys, *over_tls(site), *account(tmp_path),
                       "--suites", "integration,security", "--rate-limit-probes", "15")
    assert code == 1
    assert failed(checks) == ["rate limiting answers 429 with Retry-After"]
    names = {str(c["name"]) for c in checks}
    assert {"add an experience entry (the one write)", "the profile no longer shows it",
            "TLS 1.2 or newer", "HSTS header", "alg none is 401"} <= names


def test_integration_keeps_production_data_as_it_was(
        site: Site, database: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The first run registers the verification account (one user, its candidate profile) and
    nothing else that stays; every later run leaves users, companies, jobs, applications and
    experience entries exactly as they were (its one write is deleted; its session revoked)."""
    options = (*over_tls(site), *account(tmp_path), "--suites", "integration")
    before = rows(database)
    code, checks = run(capsys, *options)
    assert code == 0, failed(checks)
    assert "register the verification account (first run only)" in {c["name"] for c in checks}
    after_first = rows(database)
    assert {t: after_first[t] - before[t] for t in TABLES} == {
        "users": 1, "companies": 0, "jobs": 0, "job_applications": 0, "experiences": 0, "auth_sessions": 1}
    code, checks = run(capsys, *options)
    assert code == 0, failed(checks)
    assert "register the verification account (first run only)" not in {c["name"] for c in checks}
    after_second = rows(database)
    assert {t: after_second[t] - after_first[t] for t in TABLES} == {
        "users": 0, "companies": 0, "jobs": 0, "job_applications": 0, "experiences": 0, "auth_sessions": 1}
    with database.session_scope() as session:  # every session it opened is revoked
        open_sessions = session.execute(text(
            "SELECT count(*) FROM auth_sessions s JOIN users u ON u.id = s.user_id "
            "WHERE u.email = :email AND s.revoked_at IS NULL"),
            {"email": options[options.index("--account") + 1]}).scalar_one()
    assert open_sessions == 0


def test_a_wrong_password_fails_clearly_and_creates_nothing(site: Site, database: Database,
                                                            capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    """The account exists (an earlier run) but the password file holds another password: the
    suite fails naming the account and the vault value, and creates nothing."""
    options = account(tmp_path)
    code, _ = run(capsys, *over_tls(site), *options, "--suites", "integration")
    assert code == 0
    before = rows(database)
    wrong = (*options[:2], *account(tmp_path, "Another!Secret-5z")[2:])
    code, checks = run(capsys, *over_tls(site), *wrong, "--suites", "integration")
    assert code == 1
    assert failed(checks) == ["sign in as the verification account"]
    detail = next(str(c["detail"]) for c in checks if not c["ok"])
    assert "exists but refuses this password" in detail and "Another" not in detail
    assert rows(database) == before


def test_without_a_password_the_suite_fails_before_any_account_request(
        site: Site, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    before = rows(database)
    code, checks = run(capsys, *over_tls(site), "--suites", "integration")
    assert code == 1
    assert failed(checks) == ["the verification account's password"]
    assert rows(database) == before


def test_an_account_of_another_kind_is_refused_and_left_alone(
        site: Site, database: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The e-mail belongs to a company user (registered by someone else with the same password):
    the suite refuses to write to that account's profile."""
    options = account(tmp_path)
    with site.client() as client:
        registered = client.post(f"{site.https}/api/auth/register", json={
            "email": options[1], "password": PASSWORD, "first_name": "Not", "last_name": "Verify",
            "user_type": "company"})
    assert registered.status_code == 201, registered.text
    before = rows(database)
    code, checks = run(capsys, *over_tls(site), *options, "--suites", "integration")
    assert code == 1
    assert failed(checks) == ["the account is the candidate verification account"]
    assert {t: rows(database)[t] - before[t] for t in TABLES if t != "auth_sessions"} == dict.fromkeys(
        (t for t in TABLES if t != "auth_sessions"), 0)


def test_an_unreadable_password_file_is_a_usage_error(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        verify.main(["--url", "http://127.0.0.1:9", "--password-file", str(tmp_path / "missing")])
    assert exit_info.value.code == 2
    assert "--password-file" in capsys.readouterr().err


def test_performance_suite_reports_latencies(envoy: RunningEnvoy,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _, checks = run(capsys, "--url", envoy.base_url, "--suites", "performance")
    assert [c["name"] for c in checks] == ["health p95 < 50 ms", "job search p95 < 300 ms",
                                           "cached job search p95 < 100 ms"]
    assert all(str(c["detail"]).startswith("p95 ") for c in checks)


@pytest.fixture
def limited_envoy(database: Database, cache: Cache, tmp_path: Path) -> Iterator[RunningEnvoy]:
    settings = make_settings(tmp_path)  # the real default limits
    cache.client.flushdb()
    server = create_server(settings, database, cache)
    server.start()
    try:
        with start_envoy(settings, server.port, tmp_path / "envoy") as envoy:
            yield envoy
    finally:
        server.stop(0)


def test_security_passes_with_real_rate_limits(limited_envoy: RunningEnvoy,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = run(capsys, "--url", limited_envoy.base_url, "--suites", "security")
    assert failed(checks) == []
    assert code == 0


def test_unreachable_service_fails_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = run(capsys, "--url", "http://127.0.0.1:9", "--suites", "security")
    assert code == 1
    assert failed(checks) == ["reach the service"]
