"""Issue 18 item 2: gRPC over mutual TLS between Envoy and the workers, and the internal
endpoint (Envoy's mTLS listener for native gRPC), with real `hotgigs serve` worker processes,
a real Envoy and certificates made here (hotgigs.dev.certs). Callers without a certificate, or
with another CA's, are refused by the workers and by the internal endpoint; with a certificate
and a service account's API key an internal call works until the key is revoked; a renewed
worker certificate is served to new connections without a restart."""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from hotgigs.db import Database
from hotgigs.dev import stack
from hotgigs.dev import workers as dev_workers
from hotgigs.dev.certs import Authority, Issued
from hotgigs.dev.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from hotgigs.runtime import Dependencies
from hotgigs.settings import Address, Settings, TlsFiles
from hotgigs.v1 import jobs_pb2, jobs_pb2_grpc, users_pb2, users_pb2_grpc
from tests import factories
from tests.support.servers import TEST_KEKS_ENV, make_settings, new_migrated_database, suite_keyring
from tests.support.waiting import eventually

JWT_SECRET = "test-jwt-secret-0123456789-0123456789-abcdef"
WORKER_SANS = ("127.0.0.1", "hotgigs-api")


@dataclasses.dataclass(frozen=True)
class Pki:
    """The project CA's files and those of a stranger CA, in one folder."""

    folder: Path
    authority: Authority

    def path(self, name: str) -> Path:
        return self.folder / name

    def client(self, cert: str = "client") -> grpc.ChannelCredentials:
        """Channel credentials verifying the server against the CA, presenting `cert` (None: no
        client certificate)."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.path("ca.crt").read_bytes(),
            private_key=self.path(f"{cert}.key").read_bytes(),
            certificate_chain=self.path(f"{cert}.crt").read_bytes())

    def without_certificate(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(root_certificates=self.path("ca.crt").read_bytes())


@dataclasses.dataclass(frozen=True)
class Stack:
    pki: Pki
    supervisor: dev_workers.WorkerSupervisor
    settings: Settings
    rest_url: str
    admin_url: str
    internal: str  # host:port of the internal endpoint
    database: Database
    database_url: str
    redis_url: str


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    authority = Authority.create()
    Issued(authority.cert_pem, authority.key_pem, 0).write(folder / "ca.crt", folder / "ca.key")
    authority.issue("worker", WORKER_SANS).write(folder / "worker.crt", folder / "worker.key")
    authority.issue("envoy", ("127.0.0.1",)).write(folder / "envoy.crt", folder / "envoy.key")
    authority.issue("caller", server=False).write(folder / "client.crt", folder / "client.key")
    stranger = Authority.create("Somebody else's CA")
    stranger.issue("intruder", server=False).write(folder / "stranger.crt", folder / "stranger.key")
    return Pki(folder, authority)


def _healthy_upstreams(admin_url: str) -> int:
    statuses = httpx.get(f"{admin_url}/clusters?format=json", timeout=5).json()["cluster_statuses"]
    hosts = next(c for c in statuses if c["name"] == "hotgigs_grpc").get("host_statuses", [])
    return sum(1 for host in hosts if host["health_status"].get("eds_health_status") == "HEALTHY"
               and not any(v is True for k, v in host["health_status"].items() if k.startswith("failed")))


def _upstream_successes(admin_url: str) -> dict[str, int]:
    """Requests each worker answered successfully, by address (Envoy's admin /clusters)."""
    text = httpx.get(f"{admin_url}/clusters", timeout=5).text
    return {address: int(count) for address, count
            in re.findall(r"^hotgigs_grpc::([0-9.]+:\d+)::rq_success::(\d+)$", text, re.MULTILINE)}


def _stat(admin_url: str, name: str) -> int:
    text = httpx.get(f"{admin_url}/stats?filter=^{re.escape(name)}$", timeout=5).text
    match = re.search(rf"^{re.escape(name)}: (\d+)$", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


@pytest.fixture(scope="module")
def mtls(pki: Pki, embedded_postgres: EmbeddedPostgres, redis_server: EmbeddedRedis,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("mtls")
    database_url = new_migrated_database(embedded_postgres)
    worker_tls = TlsFiles(pki.path("worker.crt"), pki.path("worker.key"), pki.path("ca.crt"))
    envoy_tls = TlsFiles(pki.path("envoy.crt"), pki.path("envoy.key"), pki.path("ca.crt"))
    internal = Address("127.0.0.1", free_port())
    settings = make_settings(
        workdir, grpc_tls=worker_tls, envoy_tls=envoy_tls, envoy_upstream_tls=True,
        internal_grpc_address=internal, metrics_address=None, jwt_secret_key=JWT_SECRET,
        envoy_health_check_interval_seconds=0.25, drain_delay_seconds=0.5,
        http_address=Address("127.0.0.1", free_port()),
        envoy_admin_address=Address("127.0.0.1", free_port()),
        envoy_access_log=str(workdir / "access.log"))
    worker_env = {
        "JWT_SECRET_KEY": JWT_SECRET, "HOTGIGS_DATA_DIR": str(workdir),
        "HOTGIGS_ENCRYPTION_KEKS": TEST_KEKS_ENV, "HOTGIGS_LOG_LEVEL": "INFO",
        "HOTGIGS_LOG_FORMAT": "json", "HOTGIGS_API_KEY_PEPPER": str(settings.api_key_pepper),
        "HOTGIGS_DRAIN_DELAY_SECONDS": "0.5", "HOTGIGS_HEALTH_CHECK_INTERVAL_SECONDS": "0.5",
        "AUTH_USER_STATE_TTL_SECONDS": "0",  # a revocation holds at once (the bound is 5 s)
        "HOTGIGS_GRPC_TLS_CERT_FILE": str(worker_tls.cert_file),
        "HOTGIGS_GRPC_TLS_KEY_FILE": str(worker_tls.key_file),
        "HOTGIGS_GRPC_TLS_CLIENT_CA_FILE": str(worker_tls.ca_file),
    }
    deps = Dependencies(database_url, redis_server.url)
    database = Database(database_url, keyring=suite_keyring())
    with dev_workers.supervised_workers(settings, deps, 2, extra_env=worker_env) as supervisor, \
            stack.envoy(settings, supervisor.ports) as envoy:
        eventually(lambda: _healthy_upstreams(envoy.admin_url) == 2)
        yield Stack(pki, supervisor, settings, f"http://{settings.http_address}", envoy.admin_url,
                    str(internal), database, database_url, redis_server.url)
    database.dispose()


def _health(target: str, credentials: grpc.ChannelCredentials | None) -> int:
    with (grpc.insecure_channel(target) if credentials is None
          else grpc.secure_channel(target, credentials)) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                          timeout=5).status


def test_rest_through_envoy_reaches_the_workers_over_mutual_tls(mtls: Stack) -> None:
    handshakes = _stat(mtls.admin_url, "cluster.hotgigs_grpc.ssl.handshake")
    assert handshakes >= 2  # a TLS connection to each worker (health checks and requests)
    with httpx.Client(base_url=mtls.rest_url, timeout=10) as rest:
        health = rest.get("/api/health")
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "healthy"
        jobs = rest.get("/api/jobs")
        assert jobs.status_code == 200, jobs.text
    assert _healthy_upstreams(mtls.admin_url) == 2
    assert _stat(mtls.admin_url, "cluster.hotgigs_grpc.ssl.connection_error") == 0


@pytest.mark.parametrize("caller", ["plaintext", "no certificate", "another CA's certificate"])
def test_a_worker_refuses_callers_without_the_cas_certificate(mtls: Stack, caller: str) -> None:
    target = f"127.0.0.1:{mtls.supervisor.ports[0]}"
    credentials = {"plaintext": None, "no certificate": mtls.pki.without_certificate(),
                   "another CA's certificate": mtls.pki.client("stranger")}[caller]
    with pytest.raises(grpc.RpcError) as refused:
        _health(target, credentials)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    # the same worker answers a caller with the CA's certificate
    assert _health(target, mtls.pki.client()) == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("caller", ["plaintext", "no certificate", "another CA's certificate"])
def test_the_internal_endpoint_refuses_callers_without_the_cas_certificate(
        mtls: Stack, caller: str) -> None:
    credentials = {"plaintext": None, "no certificate": mtls.pki.without_certificate(),
                   "another CA's certificate": mtls.pki.client("stranger")}[caller]
    with pytest.raises(grpc.RpcError) as refused:
        _health(mtls.internal, credentials)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert _health(mtls.internal, mtls.pki.client()) == health_pb2.HealthCheckResponse.SERVING


def _service_account(mtls: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """`hotgigs service-account ...` as an operator runs it on an API host."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("HOTGIGS_", "DATABASE_URL", "CACHE_REDIS_URL"))}
    environ.update({"HOTGIGS_ENV": "test", "DATABASE_URL": mtls.database_url,
                    "CACHE_REDIS_URL": mtls.redis_url, "HOTGIGS_DATA_DIR": str(mtls.settings.data_dir),
                    "JWT_SECRET_KEY": JWT_SECRET,
                    "HOTGIGS_API_KEY_PEPPER": str(mtls.settings.api_key_pepper),
                    "HOTGIGS_ENCRYPTION_KEKS": TEST_KEKS_ENV,
                    "HOTGIGS_PROXY_SECRET": mtls.settings.proxy_secret, "HOTGIGS_LOG_FORMAT": "json"})
    return subprocess.run([sys.executable, "-m", "hotgigs.cli", "service-account", *args],
                          capture_output=True, text=True, env=environ, timeout=120, check=False)


def test_an_internal_call_with_a_certificate_and_an_api_key_until_the_key_is_revoked(
        mtls: Stack) -> None:
    with mtls.database.session_scope() as session:
        owner = factories.make_user(session, "candidate")
        email = owner.email
    created = _service_account(mtls, "create", "search-sync", "--owner", email, "--scope", "jobs.read")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    metadata = [("x-api-key", key)]
    before = _upstream_successes(mtls.admin_url)
    with grpc.secure_channel(mtls.internal, mtls.pki.client()) as channel:
        jobs = jobs_pb2_grpc.JobServiceStub(channel)
        for _ in range(10):
            jobs.SearchJobs(jobs_pb2.SearchJobsRequest(limit=5), metadata=metadata, timeout=10)
        users = users_pb2_grpc.UserServiceStub(channel)
        with pytest.raises(grpc.RpcError) as outside:  # the key reaches the worker: scopes apply
            users.GetProfile(users_pb2.GetProfileRequest(), metadata=metadata, timeout=10)
        assert outside.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "scopes" in (outside.value.details() or "")
        with pytest.raises(grpc.RpcError) as anonymous:
            users.GetProfile(users_pb2.GetProfileRequest(), timeout=10)
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED

        # one endpoint, load-balanced over the health-checked workers
        after = _upstream_successes(mtls.admin_url)
        assert len(after) == 2
        assert all(after[address] - before.get(address, 0) >= 3 for address in after), (before, after)

        revoked = _service_account(mtls, "revoke", "search-sync", key[3:15])
        assert revoked.returncode == 0, revoked.stderr
        with pytest.raises(grpc.RpcError) as refused:
            jobs.SearchJobs(jobs_pb2.SearchJobsRequest(limit=5), metadata=metadata, timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert key not in created.stderr and key not in revoked.stdout + revoked.stderr


def test_reflection_through_the_internal_endpoint(mtls: Stack) -> None:
    """What `grpcurl -cacert ca.crt -cert client.crt -key client.key HOST:PORT list` asks."""
    with grpc.secure_channel(mtls.internal, mtls.pki.client()) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = list(stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10))
    services = {service.name for service in answers[0].list_services_response.service}
    assert {"hotgigs.v1.JobService", "grpc.health.v1.Health"} <= services


def _served_serial(port: int, pki: Pki) -> int:
    """The serial number of the certificate a worker presents to a NEW connection."""
    context = ssl.create_default_context(cafile=str(pki.path("ca.crt")))
    context.load_cert_chain(pki.path("client.crt"), pki.path("client.key"))
    context.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


WAIT_FOR_WORKER = Path(__file__).resolve().parents[2] / "ansible/roles/app/files/wait_for_worker.py"


def _wait_for_worker(mtls: Stack, *tls: str) -> subprocess.CompletedProcess[str]:
    """The app role's readiness check after a worker's restart, as the rolling restart runs it."""
    return subprocess.run([sys.executable, str(WAIT_FOR_WORKER), "hotgigs-api@1",
                           f"127.0.0.1:{mtls.supervisor.ports[0]}", "5", *tls],
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_rolling_restarts_readiness_check_reaches_a_tls_worker(mtls: Stack) -> None:
    """ansible/roles/app/files/wait_for_worker.py with the host's certificate (the CA, the
    certificate, its key, the worker's name) finds the worker SERVING; in plaintext it never
    would (a rolling restart would wait and fail on every worker)."""
    pki = mtls.pki
    ready = _wait_for_worker(mtls, str(pki.path("ca.crt")), str(pki.path("client.crt")),
                             str(pki.path("client.key")), "hotgigs-api")
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert "SERVING after" in ready.stdout
    plaintext = _wait_for_worker(mtls)
    assert plaintext.returncode == 1, plaintext.stdout + plaintext.stderr
    assert "SERVING after" not in plaintext.stdout
    wrong_name = _wait_for_worker(mtls, str(pki.path("ca.crt")), str(pki.path("client.crt")),
                                  str(pki.path("client.key")), "not-the-worker")
    assert wrong_name.returncode == 1, wrong_name.stdout + wrong_name.stderr
    usage = _wait_for_worker(mtls, str(pki.path("ca.crt")))
    assert usage.returncode == 2 and "usage:" in usage.stdout


def test_a_renewed_worker_certificate_is_served_without_a_restart(mtls: Stack) -> None:
    ports, pids = mtls.supervisor.ports, [mtls.supervisor.pid(n) for n in range(2)]
    original = x509.load_pem_x509_certificate(mtls.pki.path("worker.crt").read_bytes()).serial_number
    assert {_served_serial(port, mtls.pki) for port in ports} == {original}

    # half a renewal (a new certificate, the old key) is refused: the current one keeps serving
    half = mtls.pki.authority.issue("worker", WORKER_SANS)
    (mtls.pki.path("worker.crt.new")).write_bytes(half.cert_pem)
    mtls.pki.path("worker.crt.new").replace(mtls.pki.path("worker.crt"))
    assert {_served_serial(port, mtls.pki) for port in ports} == {original}
    assert _health(f"127.0.0.1:{ports[0]}", mtls.pki.client()) == health_pb2.HealthCheckResponse.SERVING

    renewed = mtls.pki.authority.issue("worker", WORKER_SANS)
    renewed.write(mtls.pki.path("worker.crt"), mtls.pki.path("worker.key"))
    assert {_served_serial(port, mtls.pki) for port in ports} == {renewed.serial}
    assert [mtls.supervisor.pid(n) for n in range(2)] == pids  # no restart
    with httpx.Client(base_url=mtls.rest_url, timeout=10) as rest:  # Envoy still gets through
        assert rest.get("/api/jobs").status_code == 200
    assert _healthy_upstreams(mtls.admin_url) == 2


def _serve(database_url: str, redis_url: str, tmp: Path, **tls: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOTGIGS_")}
    environ.update({"HOTGIGS_ENV": "test", "DATABASE_URL": database_url, "CACHE_REDIS_URL": redis_url,
                    "JWT_SECRET_KEY": JWT_SECRET, "HOTGIGS_ENCRYPTION_KEKS": TEST_KEKS_ENV,
                    "HOTGIGS_PROXY_SECRET": "test-proxy-secret-0123456789",
                    "HOTGIGS_DATA_DIR": str(tmp), "HOTGIGS_METRICS_ADDRESS": "off",
                    "HOTGIGS_GRPC_ADDRESS": f"127.0.0.1:{free_port()}", **tls})
    return subprocess.run([sys.executable, "-m", "hotgigs.cli", "serve"], capture_output=True,
                          text=True, env=environ, timeout=120, check=False)


def test_a_worker_with_half_its_tls_settings_does_not_start(pki: Pki, tmp_path: Path) -> None:
    result = _serve("postgresql://nobody@127.0.0.1:1/none", "redis://127.0.0.1:1/0", tmp_path,
                    HOTGIGS_GRPC_TLS_CERT_FILE=str(pki.path("worker.crt")))
    assert result.returncode == 2
    assert "HOTGIGS_GRPC_TLS_KEY_FILE, HOTGIGS_GRPC_TLS_CLIENT_CA_FILE: set" in result.stderr


def test_a_worker_with_a_key_that_is_not_its_certificates_does_not_start(
        pki: Pki, mtls: Stack, tmp_path: Path) -> None:
    result = _serve(mtls.database_url, mtls.redis_url, tmp_path,
                    HOTGIGS_GRPC_TLS_CERT_FILE=str(pki.path("worker.crt")),
                    HOTGIGS_GRPC_TLS_KEY_FILE=str(pki.path("envoy.key")),
                    HOTGIGS_GRPC_TLS_CLIENT_CA_FILE=str(pki.path("ca.crt")))
    assert result.returncode == 2, result.stderr[-2000:]
    assert "configuration error: gRPC TLS: HOTGIGS_GRPC_TLS_KEY_FILE=" in result.stderr
    assert "is not the key of HOTGIGS_GRPC_TLS_CERT_FILE=" in result.stderr
    assert "PRIVATE KEY" not in result.stderr + result.stdout
