"""The contract internal callers rely on: `buf breaking` against the last released API, the
`hotgigs-api` stubs wheel, and the gRPC service config (deadlines, retries for reads only)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest

from hotgigs import manifest
from hotgigs.core.rpc import is_read
from hotgigs.dev import stubs_wheel
from hotgigs.grpc_server import service_config
from hotgigs.grpc_server.server import GrpcServer
from hotgigs.v1 import jobs_pb2, jobs_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
BUF = ROOT / "node_modules" / ".bin" / "buf"


def _released() -> Path:
    releases = sorted((ROOT / "protos" / "released").glob("*.binpb"),
                      key=lambda path: tuple(int(part) for part in path.stem.split(".")))
    assert releases, "no released API under protos/released"
    return releases[-1]


@pytest.fixture(scope="module")
def proto_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the buf workspace (protos/, vendored google/api, buf.yaml) to edit."""
    subprocess.run(["sh", str(ROOT / "protos" / "vendor.sh")], check=True)
    workspace = tmp_path_factory.mktemp("buf")
    shutil.copytree(ROOT / "protos", workspace / "protos")
    shutil.copytree(ROOT / "build" / "proto-deps", workspace / "build" / "proto-deps")
    shutil.copy(ROOT / "buf.yaml", workspace / "buf.yaml")
    return workspace


def _breaking(workspace: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUF), "breaking", "protos", "--against", str(_released())],
                          cwd=workspace, capture_output=True, text=True, timeout=120)


def test_the_api_is_compatible_with_the_last_release(proto_workspace: Path) -> None:
    result = _breaking(proto_workspace)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_breaking_change_fails_the_check(proto_workspace: Path) -> None:
    jobs = proto_workspace / "protos" / "hotgigs" / "v1" / "jobs.proto"
    original = jobs.read_text()
    assert "rpc GetJob(" in original
    jobs.write_text(original.replace("rpc GetJob(", "rpc FetchJob(", 1))
    try:
        result = _breaking(proto_workspace)
    finally:
        jobs.write_text(original)
    assert result.returncode != 0
    assert "GetJob" in result.stdout


def test_the_released_version_is_not_ahead_of_the_api() -> None:
    version = tuple(int(part) for part in stubs_wheel.api_version().split("."))
    assert tuple(int(part) for part in _released().stem.split(".")) <= version


# --- the service config -----------------------------------------------------------------

def _configs_by_method() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for config in service_config.build()["methodConfig"]:
        for name in config["name"]:
            key = f"/{name['service']}/{name['method']}"
            assert key not in found, f"{key} configured twice"
            found[key] = config
    return found


def test_every_rpc_has_a_method_config_and_only_reads_retry() -> None:
    configs = _configs_by_method()
    assert set(configs) == set(manifest.RPCS)
    for method, config in configs.items():
        name = method.rsplit("/", 1)[1]
        assert ("retryPolicy" in config) == is_read(name), method
        assert not (manifest.RPCS[method].invalidates and "retryPolicy" in config), method
        if method.endswith("/StreamNotifications"):
            assert "timeout" not in config
        else:
            assert config["timeout"] in {"5s", "10s", "30s"}, method


def test_the_shipped_config_is_the_generated_one() -> None:
    shipped = ROOT / "server" / "hotgigs" / "v1" / service_config.SERVICE_CONFIG_NAME
    assert json.loads(shipped.read_text()) == service_config.build()


class _FlakyOnce(grpc.GenericRpcHandler):
    """Answers UNAVAILABLE to the first call of each method, then an empty reply."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = details.method  # type: ignore[attr-defined]

        def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
            with self.lock:
                self.calls[method] = self.calls.get(method, 0) + 1
                first = self.calls[method] == 1
            if first:
                context.abort(grpc.StatusCode.UNAVAILABLE, "starting up")
            return b""

        return grpc.unary_unary_rpc_method_handler(answer)


@pytest.fixture
def flaky_server() -> Iterator[tuple[int, _FlakyOnce]]:
    handler = _FlakyOnce()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield port, handler
    server.stop(0)


def test_the_channel_retries_a_read_but_not_a_write(flaky_server: tuple[int, _FlakyOnce]) -> None:
    port, handler = flaky_server
    options = [("grpc.service_config", service_config.dumps()), ("grpc.enable_retries", 1)]
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        jobs = jobs_pb2_grpc.JobServiceStub(channel)
        jobs.GetJob(jobs_pb2.GetJobRequest())  # UNAVAILABLE once, then answered
        with pytest.raises(grpc.RpcError) as refused:
            jobs.CreateJob(jobs_pb2.CreateJobRequest())
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert handler.calls == {"/hotgigs.v1.JobService/GetJob": 2, "/hotgigs.v1.JobService/CreateJob": 1}


# --- the stubs wheel --------------------------------------------------------------------

CLIENT = """
import sys
import grpc
import hotgigs_api
from hotgigs_api.v1 import health_pb2, health_pb2_grpc
assert "hotgigs.v1" not in sys.modules
channel = grpc.insecure_channel(sys.argv[1], options=hotgigs_api.channel_options())
answer = health_pb2_grpc.HealthServiceStub(channel).GetHealth(health_pb2.GetHealthRequest())
print(hotgigs_api.__version__, answer.status)
"""


def test_the_stubs_wheel_installs_and_calls_the_server(tmp_path: Path,
                                                       grpc_server: GrpcServer) -> None:
    wheel = stubs_wheel.build(tmp_path / "dist")
    version = stubs_wheel.api_version()
    assert wheel.name == f"hotgigs_api-{version}-py3-none-any.whl"
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "--target", str(target), str(wheel)], check=True)
    assert not (target / "hotgigs").exists()
    script = tmp_path / "client.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(target)!r})\n{CLIENT}")
    result = subprocess.run([sys.executable, "-I", str(script), f"127.0.0.1:{grpc_server.port}"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == version


def test_the_stubs_wheel_is_reproducible(tmp_path: Path) -> None:
    first = stubs_wheel.build(tmp_path / "a").read_bytes()
    assert first == stubs_wheel.build(tmp_path / "b").read_bytes()


