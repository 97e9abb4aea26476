"""One REST request, one trace: Envoy's span, the RPC span below it and a SQL span below that,
received by a real OTLP/gRPC receiver (the official collector TraceService)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf.json_format import MessageToDict

from hotgigs.audit.pruner import AuditPruner
from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.grpc_server.server import create_server
from hotgigs.mail.sender import MailSender
from hotgigs.replica.router import ReadReplica
from hotgigs.v1 import jobs_pb2, jobs_pb2_grpc
from tests.support.otlp import Receiver, wait_for_spans
from tests.support.servers import make_settings, start_envoy


def test_one_request_one_trace_with_parent_links(receiver: tuple[Receiver, int],
                                                 database: Database, cache: Cache,
                                                 tmp_path: Path) -> None:
    collector, port = receiver
    settings = make_settings(tmp_path, otel_endpoint=f"http://127.0.0.1:{port}")
    server = create_server(settings, database, cache)
    server.start()
    try:
        with start_envoy(settings, server.port, tmp_path / "envoy") as envoy:
            response = httpx.get(f"{envoy.base_url}/api/jobs", params={"search": "traced"},
                                 timeout=10)
            assert response.status_code == 200
            trace_id = response.headers["x-trace-id"]
            assert len(trace_id) == 32
            token = "SecretVerifyToken" + "y" * 20
            verify = httpx.get(f"{envoy.base_url}/api/auth/verify-email/{token}", timeout=10)
            assert server.tracer_provider is not None
            server.tracer_provider.force_flush()
            verify_spans = wait_for_spans(collector, verify.headers["x-trace-id"], "hotgigs-envoy")
            deadline = time.monotonic() + 15  # Envoy batches its spans for up to 5 s
            while time.monotonic() < deadline:
                with collector.lock:
                    mine = [(s, span) for s, span in collector.spans
                            if span.trace_id.hex() == trace_id]
                if any(service == "hotgigs-envoy" for service, _ in mine):
                    break
                time.sleep(0.2)
    finally:
        server.stop(0)
    by_service: dict[str, list[Any]] = {}
    for service, span in mine:
        by_service.setdefault(service, []).append(span)
    assert "hotgigs-envoy" in by_service, "Envoy's span is in the trace"
    envoy_ids = {span.span_id for span in by_service["hotgigs-envoy"]}
    rpc = [s for s in by_service["hotgigs-api"] if s.name == "/hotgigs.v1.JobService/SearchJobs"]
    assert len(rpc) == 1
    assert rpc[0].parent_span_id in envoy_ids, "the RPC span continues Envoy's trace"
    sql = [s for s in by_service["hotgigs-api"]
           if s.parent_span_id == rpc[0].span_id and s.name.startswith("SELECT")]
    assert sql, f"a SQL span below the RPC span: {[s.name for s in by_service['hotgigs-api']]}"
    # the verify-email link's token is in no span (Envoy records the REST path as http.url)
    assert token not in json.dumps([MessageToDict(span) for _, span in collector.spans])
    assert verify_spans, "the verify-email request was traced"
    # Envoy health-checked the worker every second meanwhile: no span (no orphan trace) for it
    with collector.lock:
        names = {span.name for _, span in collector.spans}
    assert not [name for name in names if "grpc.health.v1.Health" in name], names


def test_background_loops_export_no_trace(receiver: tuple[Receiver, int], database: Database,
                                          cache: Cache, tmp_path: Path) -> None:
    """The loops a worker runs beside its requests (health monitor, outbox poll, audit pruner,
    read-replica check) serve no request, so they export no span: traced, they sent orphan
    traces (SELECT 1, PING, the outbox poll, connect) every interval from every worker. A
    request's spans still arrive meanwhile."""
    collector, port = receiver
    settings = make_settings(tmp_path, otel_endpoint=f"http://127.0.0.1:{port}",
                             health_check_interval_seconds=0.05, mail_poll_interval_seconds=0.05)
    server = create_server(settings, database, cache)
    server.start()
    not_a_standby = Database(database.engine.url.render_as_string(hide_password=False))
    loops = [MailSender(settings, database), AuditPruner(database, retention_days=30),
             ReadReplica(database, not_a_standby, check_seconds=0.05, cache=cache,
                         generations=("jobs",))]
    try:
        for loop in loops:
            loop.start()
        time.sleep(1.0)  # about 20 rounds of each
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            jobs_pb2_grpc.JobServiceStub(channel).SearchJobs(
                jobs_pb2.SearchJobsRequest(search="monitored", limit=1), timeout=10)
        assert server.tracer_provider is not None
        server.tracer_provider.force_flush()
    finally:
        for loop in loops:
            loop.stop()
        not_a_standby.dispose()
        server.stop(0)
    with collector.lock:
        spans = [span for service, span in collector.spans if service == "hotgigs-api"]
    roots = sorted({span.name for span in spans if not span.parent_span_id})
    assert roots == ["/hotgigs.v1.JobService/SearchJobs"], roots
    assert any(span.name.startswith("SELECT") for span in spans), "the request's SQL span came"


def test_envoy_samples_as_the_workers_do(receiver: tuple[Receiver, int], database: Database,
                                         cache: Cache, tmp_path: Path) -> None:
    """OTEL_TRACES_SAMPLER_ARG=0: Envoy starts no sampled trace (it sampled 100 % whatever the
    setting said), yet a caller's sampled traceparent is followed by Envoy and the workers."""
    collector, port = receiver
    settings = make_settings(tmp_path, otel_endpoint=f"http://127.0.0.1:{port}",
                             otel_sample_ratio=0.0)
    server = create_server(settings, database, cache)
    server.start()
    try:
        with start_envoy(settings, server.port, tmp_path / "envoy") as envoy:
            unsampled = httpx.get(f"{envoy.base_url}/api/jobs", timeout=10)
            assert unsampled.status_code == 200
            parent = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
            sampled = httpx.get(f"{envoy.base_url}/api/jobs", headers={"traceparent": parent},
                                timeout=10)
            assert sampled.status_code == 200 and sampled.headers["x-trace-id"] == "ab" * 16
            assert server.tracer_provider is not None
            server.tracer_provider.force_flush()
            assert wait_for_spans(collector, "ab" * 16, "hotgigs-envoy"), "Envoy followed"
            assert wait_for_spans(collector, "ab" * 16, "hotgigs-api"), "the worker followed"
    finally:
        server.stop(0)
    unsampled_trace = unsampled.headers["x-trace-id"]
    with collector.lock:
        assert not [span for _, span in collector.spans
                    if span.trace_id.hex() == unsampled_trace], "ratio 0: nothing sampled"


def test_every_response_carries_a_request_id_without_tracing(rest: httpx.Client) -> None:
    """Tracing off (no OTLP endpoint): the worker's answers and Envoy's own (404 route,
    413 body) still carry an id to quote; no x-trace-id is promised then."""
    answers = [rest.get("/api/health"), rest.get("/api/auth/me"), rest.get("/api/no-such-route"),
               rest.post("/api/auth/login", content=b"x" * (2 * 1024 * 1024),
                         headers={"content-type": "application/json"})]
    assert [a.status_code for a in answers] == [200, 401, 404, 413]
    for answer in answers:
        assert len(answer.headers.get("x-request-id", "")) >= 16, answer.headers
        assert "x-trace-id" not in answer.headers


def test_the_workers_service_name_comes_from_otel_service_name() -> None:
    """OTEL_SERVICE_NAME (the inventory's hotgigs_otel_service_name) names the workers' spans;
    the sampler is parent-based on the configured ratio; a bad name is refused by name."""
    from opentelemetry.sdk.trace.sampling import ParentBased

    from hotgigs.settings import ConfigError, Settings
    from hotgigs.telemetry.tracing import tracer_provider

    base = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_TRACES_SAMPLER_ARG": "0.5"}
    provider = tracer_provider(Settings.from_env({**base, "OTEL_SERVICE_NAME": "shop-api"}))
    assert provider is not None
    try:
        assert provider.resource.attributes["service.name"] == "shop-api"
        assert isinstance(provider.sampler, ParentBased)
        assert "TraceIdRatioBased{0.5}" in provider.sampler.get_description()
    finally:
        provider.shutdown()
    default = Settings.from_env(base)
    assert default.otel_service_name == "hotgigs-api"
    with pytest.raises(ConfigError, match="OTEL_SERVICE_NAME="):
        Settings.from_env({**base, "OTEL_SERVICE_NAME": "x" * 64})
