"""A small HTTP server on loopback answering what a test sets per path, counting requests: for
the bounds of outbound calls (size, slowness, redirects) and GitHub-shaped answers."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any


@dataclasses.dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    drip_seconds: float = 0.0  # pause between bytes (a slow server)
    send_length: bool = True  # False: no Content-Length, the body ends when the server closes


class JsonServer:
    """Routes and hit counts of one running server."""

    def __init__(self) -> None:
        self.routes: dict[str, Answer] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self.authorizations: list[str] = []
        self.base_url = ""

    def json(self, path: str, value: Any, status: int = 200) -> None:
        self.routes[path] = Answer(status, json.dumps(value).encode())


@contextlib.contextmanager
def json_server() -> Iterator[JsonServer]:
    state = JsonServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits[self.path] += 1
            state.authorizations.append(self.headers.get("authorization", ""))
            answer = state.routes.get(self.path, Answer(404, b'{"error":"not found"}'))
            self.send_response(answer.status)
            self.send_header("content-type", "application/json")
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.send_length and not answer.drip_seconds:
                self.send_header("content-length", str(len(answer.body)))
            self.end_headers()
            try:
                if answer.drip_seconds:
                    for byte in answer.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(answer.drip_seconds)
                else:
                    self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
