"""The deploy test's trace backend: a real OTLP/gRPC receiver (the official collector
TraceService, tests.support.otlp) on an address of the network namespace it is started in
(`ip netns exec hgt0 python -m tests.deploy.otlp_receiver FOLDER ADDRESS:PORT`: the monitoring
host's private address, where the hosts' workers and Envoy send their spans). Every span becomes
one JSON line in FOLDER/spans.jsonl (arrival time, service.name, ids, name), for the test to
read from outside.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class _Recorder(trace_service_pb2_grpc.TraceServiceServicer):
    """Appends each exported span to a JSON lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        received = time.time()
        lines = []
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                lines += [json.dumps({
                    "received": received, "service": resource.get("service.name", ""),
                    "environment": resource.get("deployment.environment", ""),
                    "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex(), "name": span.name}) + "\n"
                    for span in scope.spans]
        with self.lock, self.path.open("a") as out:
            out.writelines(lines)
        return trace_service_pb2.ExportTraceServiceResponse()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="where spans.jsonl is written")
    parser.add_argument("address", help="HOST:PORT to listen on")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Recorder(args.folder / "spans.jsonl"), server)
    server.add_insecure_port(args.address)
    server.start()
    (args.folder / "ready").write_text("ready\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.wait(1):
        pass
    server.stop(1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
