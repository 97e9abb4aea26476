"""A real OTLP/gRPC trace receiver (the official collector TraceService) for trace tests."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans: list[tuple[str, Any]] = []  # (service.name, span)
        self.lock = threading.Lock()

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            for resource_spans in request.resource_spans:
                service = next((a.value.string_value for a in resource_spans.resource.attributes
                                if a.key == "service.name"), "")
                for scope in resource_spans.scope_spans:
                    self.spans += [(service, span) for span in scope.spans]
        return trace_service_pb2.ExportTraceServiceResponse()


@contextlib.contextmanager
def running_receiver() -> Iterator[tuple[Receiver, int]]:
    """A started receiver on a free loopback port, stopped on exit."""
    servicer = Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield servicer, port
    finally:
        server.stop(0)


def wait_for_spans(collector: Receiver, trace_id: str, service: str) -> list[Any]:
    deadline = time.monotonic() + 15  # Envoy batches its spans for up to 5 s
    while True:
        with collector.lock:
            found = [span for name, span in collector.spans
                     if span.trace_id.hex() == trace_id and name == service]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)
