"""OpenTelemetry traces: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.

The gRPC server span continues the W3C trace Envoy started (traceparent metadata); SQLAlchemy
and Redis spans hang below it. Spans go to the OTLP endpoint (gRPC) in batches; the sampler
follows the parent's decision, else samples OTEL_TRACES_SAMPLER_ARG of new traces.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import grpc
import structlog
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from hotgigs import __version__
from hotgigs import context as request_context
from hotgigs.grpc_server.interceptors import AroundInterceptor
from hotgigs.settings import Settings
from hotgigs.telemetry import metrics

TRACE_HEADER = "x-trace-id"
_redis_instrumented = False


def tracer_provider(settings: Settings) -> TracerProvider | None:
    """A provider exporting to the configured OTLP endpoint, or None when tracing is off."""
    if not settings.otel_endpoint:
        return None
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.otel_service_name, "service.version": __version__,
                                  "deployment.environment": settings.environment}),
        sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)))
    endpoint = settings.otel_endpoint.removeprefix("http://").removeprefix("https://")
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
        endpoint=endpoint, insecure=settings.otel_endpoint.startswith("http://"))))
    return provider


def instrument(provider: TracerProvider, engine: Any) -> list[Any]:
    """Server interceptor for gRPC spans; SQL spans on `engine`; Redis spans (process-wide)."""
    from opentelemetry.instrumentation.grpc import server_interceptor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    global _redis_instrumented
    # skip_dep_check: the instrumentation declares SQLAlchemy < 2.1 but works with 2.1 (tested)
    instrumentor = SQLAlchemyInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        # Another traced server in this process (tests): the instrumentor is process-wide and
        # would ignore this engine and provider, leaving SQL spans with the first server's.
        instrumentor.uninstrument()
    instrumentor.instrument(engine=engine, tracer_provider=provider, skip_dep_check=True)
    if not _redis_instrumented:
        RedisInstrumentor().instrument(tracer_provider=provider)
        _redis_instrumented = True
    # No span for health checks (Envoy checks each worker every second: an orphan trace each)
    return [server_interceptor(  # type: ignore[no-untyped-call]
        tracer_provider=provider, filter_=lambda details: not metrics.is_health_check(details.method))]


class TraceContextInterceptor(AroundInterceptor):
    """Puts the trace and span ids in the logs and the trace id in the `x-trace-id` response
    header, so a user can quote it."""

    @contextlib.contextmanager
    def around(self, method: str, context: grpc.ServicerContext,
               streaming_response: bool) -> Iterator[None]:
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            trace_id, span_id = f"{span.trace_id:032x}", f"{span.span_id:016x}"
            structlog.contextvars.bind_contextvars(trace_id=trace_id, span_id=span_id)
            request_context.add_response_header(TRACE_HEADER, trace_id)
        yield
