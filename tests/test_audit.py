"""`make audit`: pip-audit over the locked dependencies; an unreachable advisory index is
reported ("dependencies NOT audited: ...") and does not fail the run; vulnerabilities do."""

from __future__ import annotations

import os
import subprocess
import sys

from hotgigs.dev import audit
from hotgigs.dev.embedded import free_port


def test_an_unreachable_index_is_reported_and_does_not_fail() -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: every request fails
    env = {**os.environ, "HTTPS_PROXY": closed, "HTTP_PROXY": closed, "https_proxy": closed,
           "http_proxy": closed, "NO_PROXY": "", "no_proxy": ""}
    result = subprocess.run([sys.executable, "-m", "hotgigs.dev.audit", "--timeout", "120"],
                            capture_output=True, text=True, env=env, timeout=180, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("dependencies NOT audited: "), result.stdout


def test_the_locked_requirements_are_every_pinned_dependency() -> None:
    names = {line.split("==")[0].lower().replace("_", "-") for line in audit.locked_requirements()}
    assert {"grpcio", "sqlalchemy", "pypdf", "pip-audit", "pytest"} <= names
    assert "hotgigs" not in names


def test_known_vulnerabilities_fail_the_run() -> None:
    outcome = audit.judge({"dependencies": [
        {"name": "pypdf", "version": "3.0.0", "vulns": [
            {"id": "GHSA-xxxx", "fix_versions": ["3.17.0"], "aliases": [], "description": ""}]},
        {"name": "grpcio", "version": "1.85.3", "vulns": []}]})
    assert outcome.exit_code == 1
    assert "VULNERABLE pypdf 3.0.0: GHSA-xxxx (fixed in 3.17.0)" in outcome.lines
    assert outcome.lines[-1] == "audited 2 dependencies: 1 with known vulnerabilities"


def test_a_clean_audit_passes_and_skipped_packages_are_named() -> None:
    outcome = audit.judge({"dependencies": [
        {"name": "grpcio", "version": "1.85.3", "vulns": []},
        {"name": "private-pkg", "skip_reason": "Dependency not found on PyPI"}]})
    assert outcome.exit_code == 0
    assert outcome.lines == ["1 dependencies NOT audited: private-pkg",
                             "audited 1 dependencies: no known vulnerabilities"]


def test_an_index_that_knows_no_package_is_not_an_audit() -> None:
    outcome = audit.judge({"dependencies": [
        {"name": "grpcio", "skip_reason": "Dependency not found on PyPI and could not be audited"}]})
    assert outcome.exit_code == 0
    assert outcome.lines[0].startswith("dependencies NOT audited: Dependency not found")
    assert audit.judge(None, "connection refused").lines == [
        "dependencies NOT audited: connection refused"]
