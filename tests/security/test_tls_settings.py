"""Issue 18 item 2, the parts without servers: the TLS settings (all or none, clear errors),
the worker's checks of its files, Envoy's rendered TLS (plaintext by default), and
`hotgigs dev-certs`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hotgigs.dev.certs import Authority
from hotgigs.grpc_server import tls
from hotgigs.settings import ConfigError, EdgeSettings, Settings, TlsFiles
from http_bridge import envoy_config
from tests.support.cli import run_cli

KEY = "test-jwt-secret-0123456789-0123456789-abcdef"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tls-files")
    authority = Authority.create()
    (folder / "ca.crt").write_bytes(authority.cert_pem)
    authority.issue("worker", ("127.0.0.1",)).write(folder / "worker.crt", folder / "worker.key")
    authority.issue("other", ("127.0.0.1",)).write(folder / "other.crt", folder / "other.key")
    authority.issue("old", ("127.0.0.1",), not_after=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
                    ).write(folder / "old.crt", folder / "old.key")
    (folder / "garbage.pem").write_text("not a certificate\n")
    return {path.name: path for path in folder.iterdir()}


def _worker_env(files: dict[str, Path], **changes: str) -> dict[str, str]:
    return {"HOTGIGS_GRPC_TLS_CERT_FILE": str(files["worker.crt"]),
            "HOTGIGS_GRPC_TLS_KEY_FILE": str(files["worker.key"]),
            "HOTGIGS_GRPC_TLS_CLIENT_CA_FILE": str(files["ca.crt"]), **changes}


def _envoy_env(files: dict[str, Path], **changes: str) -> dict[str, str]:
    return {"HOTGIGS_ENVOY_TLS_CERT_FILE": str(files["other.crt"]),
            "HOTGIGS_ENVOY_TLS_KEY_FILE": str(files["other.key"]),
            "HOTGIGS_ENVOY_TLS_CA_FILE": str(files["ca.crt"]), **changes}


def test_plaintext_is_the_default_for_loopback_development() -> None:
    settings = Settings.from_env({})
    assert settings.grpc_tls is None and settings.envoy_tls is None
    assert not settings.envoy_upstream_tls and settings.internal_grpc_address is None


def test_the_three_worker_files_are_read(files: dict[str, Path]) -> None:
    assert Settings.from_env(_worker_env(files)).grpc_tls == TlsFiles(
        files["worker.crt"], files["worker.key"], files["ca.crt"])


@pytest.mark.parametrize("drop", ["HOTGIGS_GRPC_TLS_CERT_FILE", "HOTGIGS_GRPC_TLS_KEY_FILE",
                                  "HOTGIGS_GRPC_TLS_CLIENT_CA_FILE"])
def test_all_or_none_of_the_worker_files(files: dict[str, Path], drop: str) -> None:
    with pytest.raises(ConfigError, match=f"^{drop}: set HOTGIGS_GRPC_TLS_CERT_FILE, "):
        Settings.from_env(_worker_env(files, **{drop: ""}))


def test_a_missing_file_is_named(files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"HOTGIGS_GRPC_TLS_KEY_FILE=.*: no such file"):
        Settings.from_env(_worker_env(files, HOTGIGS_GRPC_TLS_KEY_FILE=str(tmp_path / "nope.key")))


@pytest.mark.parametrize("environ", [{"HOTGIGS_ENVOY_UPSTREAM_TLS": "on"},
                                     {"HOTGIGS_INTERNAL_GRPC_ADDRESS": "127.0.0.1:50443"}])
def test_envoy_tls_and_the_internal_endpoint_need_envoys_certificate(environ: dict[str, str]) -> None:
    for settings_class in (Settings, EdgeSettings):
        with pytest.raises(ConfigError, match="needs Envoy's certificate: set HOTGIGS_ENVOY_TLS_CERT_FILE"):
            settings_class.from_env(environ)


def test_envoys_settings_on_an_edge(files: dict[str, Path]) -> None:
    edge = EdgeSettings.from_env(_envoy_env(
        files, HOTGIGS_ENVOY_UPSTREAM_TLS="on", HOTGIGS_INTERNAL_GRPC_ADDRESS="10.0.0.10:50443",
        HOTGIGS_ENVOY_UPSTREAM_SANS="hotgigs-api, 10.0.0.11", HOTGIGS_ENV="production",
        HOTGIGS_PROXY_SECRET="a-proxy-secret-0123456789"))
    assert edge.envoy_upstream_tls and edge.envoy_upstream_sans == ("hotgigs-api", "10.0.0.11")
    assert str(edge.internal_grpc_address) == "10.0.0.10:50443"
    with pytest.raises(ConfigError, match="HOTGIGS_ENVOY_UPSTREAM_SANS: 'bad name/x'"):
        EdgeSettings.from_env(_envoy_env(files, HOTGIGS_ENVOY_UPSTREAM_SANS="bad name/x"))


def test_the_internal_endpoint_beyond_loopback_refuses_the_development_key(
        files: dict[str, Path]) -> None:
    environ = _envoy_env(files, HOTGIGS_INTERNAL_GRPC_ADDRESS="10.0.0.10:50443")
    with pytest.raises(ConfigError, match=r"HOTGIGS_INTERNAL_GRPC_ADDRESS=10\.0\.0\.10:50443"):
        Settings.from_env(environ)
    assert Settings.from_env({**environ, "JWT_SECRET_KEY": KEY}).internal_grpc_address is not None


def test_the_worker_checks_its_files(files: dict[str, Path]) -> None:
    good = TlsFiles(files["worker.crt"], files["worker.key"], files["ca.crt"])
    assert tls.load(good).serial > 0
    cases = {
        "is not the key of": TlsFiles(files["worker.crt"], files["other.key"], files["ca.crt"]),
        "not a PEM certificate": TlsFiles(files["garbage.pem"], files["worker.key"], files["ca.crt"]),
        "not an unencrypted PEM private key": TlsFiles(files["worker.crt"], files["garbage.pem"],
                                                       files["ca.crt"]),
        "not a PEM CA certificate": TlsFiles(files["worker.crt"], files["worker.key"],
                                             files["garbage.pem"]),
    }
    for message, bad in cases.items():
        with pytest.raises(tls.TlsFilesError, match=message):
            tls.load(bad)
    old = TlsFiles(files["old.crt"], files["old.key"], files["ca.crt"])
    with pytest.raises(tls.TlsFilesError, match=r"HOTGIGS_GRPC_TLS_CERT_FILE=.* expired on"):
        tls.load(old, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    with pytest.raises(ConfigError, match="gRPC TLS: HOTGIGS_GRPC_TLS_KEY_FILE="):
        tls.ReloadingCredentials(TlsFiles(files["worker.crt"], files["other.key"], files["ca.crt"]))


def test_a_renewal_is_fetched_once_and_a_broken_one_is_not(files: dict[str, Path],
                                                           tmp_path: Path) -> None:
    authority = Authority.create()
    (tmp_path / "ca.crt").write_bytes(authority.cert_pem)
    authority.issue("w", ("127.0.0.1",)).write(tmp_path / "w.crt", tmp_path / "w.key")
    credentials = tls.ReloadingCredentials(TlsFiles(tmp_path / "w.crt", tmp_path / "w.key",
                                                    tmp_path / "ca.crt"))
    assert credentials.fetch() is None  # unchanged: keep serving
    (tmp_path / "w.crt").write_text("half written")
    assert credentials.fetch() is None and credentials.fetch() is None
    renewed = authority.issue("w", ("127.0.0.1",))
    renewed.write(tmp_path / "w.crt", tmp_path / "w.key")
    assert credentials.fetch() is not None
    assert credentials.current.serial == renewed.serial
    assert credentials.fetch() is None


def _options(tmp_path: Path, **changes: object) -> envoy_config.EnvoyOptions:
    values: dict[str, object] = {
        "listen_host": "127.0.0.1", "listen_port": 8080, "admin_host": "127.0.0.1",
        "admin_port": 9901, "upstreams": [("10.0.0.11", 50051), ("10.0.0.12", 50051)],
        "descriptor_path": tmp_path / "none.pb", "services": []}
    values.update(changes)
    return envoy_config.EnvoyOptions(**values)  # type: ignore[arg-type]


def test_envoy_speaks_plaintext_to_the_workers_by_default(tmp_path: Path) -> None:
    config = envoy_config.render(_options(tmp_path))
    assert [listener["name"] for listener in config["static_resources"]["listeners"]] == ["rest"]
    assert "transport_socket" not in config["static_resources"]["clusters"][0]


def test_envoy_verifies_the_workers_names(tmp_path: Path) -> None:
    identity = envoy_config.TlsIdentity("/etc/pki/envoy.crt", "/etc/pki/envoy.key", "/etc/pki/ca.crt")
    config = envoy_config.render(_options(tmp_path, tls=identity, upstream_tls=True,
                                          internal_listener=("10.0.0.10", 50443)))
    context = config["static_resources"]["clusters"][0]["transport_socket"]["typed_config"]
    validation = context["common_tls_context"]["validation_context"]
    assert validation["trusted_ca"] == {"filename": "/etc/pki/ca.crt"}
    assert validation["match_typed_subject_alt_names"] == [
        {"san_type": "IP_ADDRESS", "matcher": {"exact": "10.0.0.11"}},
        {"san_type": "IP_ADDRESS", "matcher": {"exact": "10.0.0.12"}}]
    assert "sni" not in context
    internal = config["static_resources"]["listeners"][1]
    assert internal["address"]["socket_address"] == {"address": "10.0.0.10", "port_value": 50443}
    assert internal["filter_chains"][0]["transport_socket"]["typed_config"][
        "require_client_certificate"] is True
    named = envoy_config.render(_options(tmp_path, tls=identity, upstream_tls=True,
                                         upstream_sans=["hotgigs-api"]))
    context = named["static_resources"]["clusters"][0]["transport_socket"]["typed_config"]
    assert context["sni"] == "hotgigs-api"
    with pytest.raises(ValueError, match="need Envoy's certificate"):
        _options(tmp_path, upstream_tls=True)


def test_dev_certs_makes_a_throwaway_set(tmp_path: Path) -> None:
    helped = run_cli("dev-certs", "--help")
    assert helped.returncode == 0 and "NOT FOR PRODUCTION" in helped.stdout
    made = run_cli("dev-certs", "--out", str(tmp_path / "certs"), "--san", "10.9.8.7")
    assert made.returncode == 0, made.stderr
    assert "HOTGIGS_ENVOY_UPSTREAM_TLS=on" in made.stdout and "NOT for production" in made.stderr
    names = {path.name for path in (tmp_path / "certs").iterdir()}
    assert names == {f"{n}.{e}" for n in ("ca", "worker", "envoy", "client") for e in ("crt", "key")}
    assert (tmp_path / "certs" / "ca.key").stat().st_mode & 0o077 == 0
    environ = dict(line.split("=", 1) for line in made.stdout.splitlines())
    assert Settings.from_env(environ).envoy_upstream_tls
    assert tls.load(Settings.from_env(environ).grpc_tls or pytest.fail("no TLS")).serial > 0
    again = run_cli("dev-certs", "--out", str(tmp_path / "certs"))
    assert again.returncode == 2 and "--force" in again.stderr
