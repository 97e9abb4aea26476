"""`hotgigs verify` trusts what a browser trusts: the system's roots plus an optional extra CA
bundle (`--ca-file` adds to them). The real nginx of deploy/ serves a certificate issued by a
test root through an intermediate (tests/deploy/certificates.py), in front of the real Envoy."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotgigs.dev import edge
from hotgigs.ops import verify
from tests.deploy.certificates import Chain, issue
from tests.support.servers import RunningEnvoy


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return issue(tmp_path_factory.mktemp("ca-valid"), ip_addresses=("127.0.0.1",))


@pytest.fixture(scope="module")
def served(envoy: RunningEnvoy, valid: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx serving the valid chain (leaf + intermediate); its HTTPS port."""
    with edge.nginx(tmp_path_factory.mktemp("nginx-ca"), [envoy.base_url.removeprefix("http://")],
                    tls=(valid.chain, valid.key)) as running:
        yield running.https_url.rsplit(":", 1)[1]


def checks(capsys: pytest.CaptureFixture[str], url: str, *extra: str) -> dict[str, dict[str, object]]:
    """Run the security suite (one rate-limit probe), return its checks by name."""
    capsys.readouterr()
    verify.main(["--url", url, "--suites", "security", "--rate-limit-probes", "1", "--json", *extra])
    lines = capsys.readouterr().out.splitlines()  # the in-process servers log here too
    start, end = lines.index("["), len(lines) - lines[::-1].index("]")
    return {str(c["name"]): c for c in json.loads("\n".join(lines[start:end]))}


def test_root_passed_with_ca_file_verifies_the_chain(served: str, valid: Chain,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    found = checks(capsys, f"https://127.0.0.1:{served}", "--ca-file", str(valid.root))
    assert "reach the service" not in found, found["reach the service"]
    assert found["TLS 1.2 or newer"]["ok"], found["TLS 1.2 or newer"]
    assert found["no token is 401"]["ok"], found["no token is 401"]


def test_without_the_root_the_chain_is_refused(served: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The test root is in no system store: without --ca-file the chain has no trusted anchor."""
    found = checks(capsys, f"https://127.0.0.1:{served}")
    assert list(found) == ["reach the service"]
    assert "TLS certificate rejected: unable to get local issuer certificate" in \
        str(found["reach the service"]["detail"])


def test_the_leaf_alone_is_no_anchor(served: str, valid: Chain, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """What the verify role passed before: the served chain as --ca-file. The intermediate is
    not a self-signed root, so OpenSSL finds no anchor (the old deploy rolled back here)."""
    found = checks(capsys, f"https://127.0.0.1:{served}", "--ca-file", str(valid.chain))
    assert list(found) == ["reach the service"], found


def test_wrong_hostname_fails_clearly(served: str, valid: Chain,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The leaf names 127.0.0.1 only; `localhost` reaches the same nginx but does not match."""
    found = checks(capsys, f"https://localhost:{served}", "--ca-file", str(valid.root))
    assert list(found) == ["reach the service"]
    detail = str(found["reach the service"]["detail"])
    assert detail.startswith("TLS certificate rejected: Hostname mismatch"), detail
    assert "localhost" in detail, detail


def test_expired_certificate_fails_clearly(envoy: RunningEnvoy, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    expired = issue(tmp_path / "ca", ip_addresses=("127.0.0.1",), expired=True)
    with edge.nginx(tmp_path / "nginx", [envoy.base_url.removeprefix("http://")],
                    tls=(expired.chain, expired.key)) as running:
        found = checks(capsys, running.https_url, "--ca-file", str(expired.root))
    assert list(found) == ["reach the service"]
    assert str(found["reach the service"]["detail"]).startswith(
        "TLS certificate rejected: certificate has expired"), found


def test_ca_file_adds_to_the_system_roots(valid: Chain) -> None:
    """--ca-file loads into a default context: the system's roots stay trusted beside it."""
    system = ssl.create_default_context().cert_store_stats()["x509_ca"]
    context = verify.tls_context(str(valid.root))
    assert context.cert_store_stats()["x509_ca"] == system + 1
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_unreadable_ca_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        verify.main(["--url", "https://127.0.0.1:9", "--ca-file", str(tmp_path / "missing.pem")])
    assert exited.value.code == 2
