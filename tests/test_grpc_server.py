"""The gRPC server through a real channel: error model, request ids, health, reflection, shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from hotgigs import errors
from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import free_port
from hotgigs.grpc_server.server import GrpcServer, create_server
from hotgigs.security import policy
from hotgigs.settings import Settings
from tests.support.servers import TEST_KEKS_ENV

PROBE = "hotgigs.test.Probe"


def _raise(request: bytes, context: grpc.ServicerContext) -> bytes:
    """Raise the error the request names; echo the request otherwise."""
    kind = request.decode()
    if kind == "invalid":
        raise errors.InvalidArgument("Invalid job", [
            errors.FieldViolation("salary_min", "must not exceed salary_max")])
    if kind == "not_found":
        raise errors.NotFound("Job 7 not found", reason="JOB_NOT_FOUND")
    if kind == "rate_limited":
        raise errors.ResourceExhausted("Too many requests", retry_after_seconds=30)
    if kind == "crash":
        raise RuntimeError("secret internal detail: password=hunter2")
    if kind == "unimplemented":
        raise NotImplementedError
    return request


def _slow(request: bytes, context: grpc.ServicerContext) -> bytes:
    time.sleep(float(request.decode()))
    return b"done"


PROBE_POLICIES = {f"/{PROBE}/Raise": policy.PUBLIC, f"/{PROBE}/Slow": policy.PUBLIC}
PROBE_HANDLER = grpc.method_handlers_generic_handler(PROBE, {
    "Raise": grpc.unary_unary_rpc_method_handler(_raise),
    "Slow": grpc.unary_unary_rpc_method_handler(_slow),
})


@pytest.fixture
def probe_server(settings: Settings, database: Database, cache: Cache) -> Iterator[GrpcServer]:
    server = create_server(settings, database, cache, extra_handlers=[PROBE_HANDLER],
                           extra_policies=PROBE_POLICIES)
    server.start()
    yield server
    server.stop(0)


def call(port: int, method: str, payload: bytes, metadata: tuple[tuple[str, str], ...] = ()
         ) -> tuple[bytes, grpc.Call]:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = channel.unary_unary(f"/{PROBE}/{method}")
        response, rpc = stub.with_call(payload, metadata=metadata, timeout=10)
        return response, rpc


def call_error(port: int, payload: bytes) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(port, "Raise", payload)
    return caught.value


class TestErrorModel:
    def test_invalid_argument_carries_field_violations(self, probe_server: GrpcServer) -> None:
        error = call_error(probe_server.port, b"invalid")
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        status = rpc_status.from_call(error)
        assert status is not None
        bad_request = error_details_pb2.BadRequest()
        assert status.details[0].Unpack(bad_request)
        assert [(v.field, v.description) for v in bad_request.field_violations] == [
            ("salary_min", "must not exceed salary_max")]

    def test_not_found_carries_a_stable_reason(self, probe_server: GrpcServer) -> None:
        error = call_error(probe_server.port, b"not_found")
        assert error.code() == grpc.StatusCode.NOT_FOUND
        status = rpc_status.from_call(error)
        assert status is not None
        info = error_details_pb2.ErrorInfo()
        assert status.details[-1].Unpack(info)
        assert info.reason == "JOB_NOT_FOUND"

    def test_resource_exhausted_carries_retry_delay(self, probe_server: GrpcServer) -> None:
        error = call_error(probe_server.port, b"rate_limited")
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        status = rpc_status.from_call(error)
        assert status is not None
        retry = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(retry)
        assert retry.retry_delay.seconds == 30

    def test_a_bug_becomes_a_bland_internal_error(self, probe_server: GrpcServer,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
        """A crash answers INTERNAL without a word of the internal message."""
        error = call_error(probe_server.port, b"crash")
        assert error.code() == grpc.StatusCode.INTERNAL
        assert "hunter2" not in (error.details() or "")
        assert error.details() == errors.INTERNAL_MESSAGE

    def test_not_implemented_is_unimplemented(self, probe_server: GrpcServer) -> None:
        error = call_error(probe_server.port, b"unimplemented")
        assert error.code() == grpc.StatusCode.UNIMPLEMENTED
        assert "Raise is not implemented yet" in (error.details() or "")

    def test_codes_match_google_rpc(self) -> None:
        """The domain tree maps onto the canonical codes the REST bridge converts."""
        assert errors.AlreadyExists("x").code == code_pb2.ALREADY_EXISTS
        assert errors.PermissionDenied("x").code == code_pb2.PERMISSION_DENIED
        assert errors.Unauthenticated("x").code == code_pb2.UNAUTHENTICATED
        assert errors.FailedPrecondition("x").code == code_pb2.FAILED_PRECONDITION


class TestRequestId:
    def test_a_sane_caller_request_id_is_echoed(self, probe_server: GrpcServer) -> None:
        _, rpc = call(probe_server.port, "Raise", b"ok", (("x-request-id", "abc-123"),))
        assert ("x-request-id", "abc-123") in tuple(rpc.initial_metadata())

    def test_a_hostile_request_id_is_replaced(self, probe_server: GrpcServer) -> None:
        _, rpc = call(probe_server.port, "Raise", b"ok", (("x-request-id", "<script> x;" * 30),))
        echoed = dict(rpc.initial_metadata())["x-request-id"]
        assert len(echoed) == 32
        assert echoed.isalnum()

    def test_errors_still_carry_a_request_id(self, probe_server: GrpcServer) -> None:
        error = call_error(probe_server.port, b"not_found")
        assert "x-request-id" in dict(error.initial_metadata())


def test_a_method_without_policy_is_denied(settings: Settings, database: Database,
                                           cache: Cache) -> None:
    """Default deny: a servicer registered without a policy entry cannot be called."""
    server = create_server(settings, database, cache, extra_handlers=[PROBE_HANDLER])
    server.start()
    try:
        with pytest.raises(grpc.RpcError) as caught:
            call(server.port, "Raise", b"ok")
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        server.stop(0)


class TestHealthAndReflection:
    def test_overall_and_per_service_health_are_serving(self, grpc_channel: grpc.Channel) -> None:
        stub = health_pb2_grpc.HealthStub(grpc_channel)
        for service in ("", "hotgigs.v1.JobService", "hotgigs.v1.HealthService"):
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING, service

    def test_unknown_service_is_not_found(self, grpc_channel: grpc.Channel) -> None:
        stub = health_pb2_grpc.HealthStub(grpc_channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Check(health_pb2.HealthCheckRequest(service="hotgigs.v1.Nope"), timeout=5)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    def test_reflection_lists_all_modules(self, grpc_channel: grpc.Channel) -> None:
        stub = reflection_pb2_grpc.ServerReflectionStub(grpc_channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        response = next(iter(stub.ServerReflectionInfo(iter([request]), timeout=5)))
        names = {s.name for s in response.list_services_response.service}
        expected = {f"hotgigs.v1.{n}" for n in (
            "HealthService", "AuthService", "UserService", "CompanyService", "JobService",
            "ApplicationService", "DocumentService", "AnalyticsService", "AiService",
            "CandidateService", "NotificationService")}
        assert expected <= names
        assert "grpc.health.v1.Health" in names


class TestGracefulShutdown:
    def test_in_flight_rpc_finishes_and_new_ones_are_refused(
            self, settings: Settings, database: Database, cache: Cache) -> None:
        server = create_server(settings, database, cache, extra_handlers=[PROBE_HANDLER],
                               extra_policies=PROBE_POLICIES)
        server.start()
        outcome: dict[str, object] = {}

        def slow_call() -> None:
            try:
                outcome["response"] = call(server.port, "Slow", b"1.0")[0]
            except grpc.RpcError as error:
                outcome["error"] = error.code()

        caller = threading.Thread(target=slow_call)
        caller.start()
        time.sleep(0.3)  # the slow RPC is now in flight
        stopper = threading.Thread(target=server.stop, args=(5.0,))
        stopper.start()
        time.sleep(0.2)
        with pytest.raises(grpc.RpcError) as refused:
            call(server.port, "Raise", b"ok")
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        caller.join(10)
        stopper.join(10)
        assert outcome == {"response": b"done"}

    def test_sigterm_stops_the_serve_command_cleanly(
            self, migrated_database_url: str, redis_url: str, tmp_path: Path) -> None:
        port = free_port()
        env = {**os.environ, "HOTGIGS_ENV": "test", "JWT_SECRET_KEY": "t" * 40,
               "HOTGIGS_ENCRYPTION_KEKS": TEST_KEKS_ENV, "DATABASE_URL": migrated_database_url,
               "CACHE_REDIS_URL": redis_url,
               "HOTGIGS_GRPC_ADDRESS": f"127.0.0.1:{port}", "HOTGIGS_DATA_DIR": str(tmp_path),
               "HOTGIGS_LOG_FORMAT": "json", "HOTGIGS_METRICS_ADDRESS": "off"}
        process = subprocess.Popen([sys.executable, "-m", "hotgigs.cli", "serve"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                grpc.channel_ready_future(channel).result(timeout=30)
                stub = health_pb2_grpc.HealthStub(channel)
                assert stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status == \
                    health_pb2.HealthCheckResponse.SERVING
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 0, output
        assert "grpc_server_draining" in output
        assert "grpc_server_stopped" in output


def test_overload_is_refused_fast_not_queued(settings: Settings, database: Database,
                                             cache: Cache, tmp_path: Path) -> None:
    """Beyond the in-flight limit a new RPC fails with RESOURCE_EXHAUSTED while the admitted
    ones are still running: it is refused, not queued behind them (queued, it would wait for
    them and end in DEADLINE_EXCEEDED, since they run until the test releases them)."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.support.servers import make_settings

    started, release = threading.Semaphore(0), threading.Event()

    def hold(request: bytes, context: grpc.ServicerContext) -> bytes:
        started.release()
        release.wait(30)
        return b"held"

    holding = grpc.method_handlers_generic_handler(PROBE, {
        "Hold": grpc.unary_unary_rpc_method_handler(hold),
        "Raise": grpc.unary_unary_rpc_method_handler(_raise)})
    limited = make_settings(tmp_path, max_concurrent_rpcs=2)
    server = create_server(limited, database, cache, extra_handlers=[holding],
                           extra_policies={**PROBE_POLICIES, f"/{PROBE}/Hold": policy.PUBLIC})
    server.start()
    try:
        def held_call() -> str:
            try:
                call(server.port, "Hold", b"")
                return "OK"
            except grpc.RpcError as error:
                return error.code().name

        with ThreadPoolExecutor(2) as pool:
            busy = [pool.submit(held_call) for _ in range(2)]
            for _ in busy:
                assert started.acquire(timeout=30), "the admitted calls never started"
            try:
                with pytest.raises(grpc.RpcError) as refused:
                    call(server.port, "Raise", b"ok")
                still_running = [not b.done() for b in busy]
            finally:
                release.set()
            assert [b.result() for b in busy] == ["OK", "OK"]
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert still_running == [True, True]
    finally:
        server.stop(0)


def test_stop_ends_the_rpc_threads(settings: Settings, database: Database, cache: Cache) -> None:
    """The RPC thread pool ends with the server: its idle threads do not outlive `stop()`
    (each stopped server left up to HOTGIGS_GRPC_MAX_WORKERS of them behind)."""
    before = set(threading.enumerate())
    server = create_server(settings, database, cache)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            check = health_pb2_grpc.HealthStub(channel).Check
            calls = [check.future(health_pb2.HealthCheckRequest(), timeout=10) for _ in range(8)]
            assert all(call.result().status == health_pb2.HealthCheckResponse.SERVING for call in calls)
    finally:
        server.stop(0)
    pool = [t for t in set(threading.enumerate()) - before if t.name.startswith("grpc-worker")]
    assert pool, "the calls ran on the server's own threads"
    for thread in pool:
        thread.join(5)
    assert not [t.name for t in pool if t.is_alive()]
