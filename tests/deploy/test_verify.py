"""`hotgigs verify --url`: the post-deployment suites against the real stack, over TLS through
nginx and directly through Envoy, passing where the deployment is right and failing where not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

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


def test_integration_and_security_over_tls(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """The test stack runs with generous rate limits, so exactly the rate-limit check fails."""
    code, checks = run(capsys, "--url", site.https, "--ca-file", str(site.cert),
                       "--suites", "integration,security", "--rate-limit-probes", "15")
    assert code == 1
    assert failed(checks) == ["rate limiting answers 429 with Retry-After"]
    names = {str(c["name"]) for c in checks}
    assert {"the candidate sees interviewing", "TLS 1.2 or newer", "HSTS header",
            "alg none is 401"} <= names


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
