"""OpenAI re-ranking against a local server that speaks the same HTTP API: the model's order
is used, the key is sent as a bearer token, and a slow or broken server falls back to the
offline order within the timeout."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import grpc
import httpx
import pytest

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.grpc_server.server import create_server
from hotgigs.v1 import ai_pb2, ai_pb2_grpc
from tests import factories
from tests.support.rest import register
from tests.support.servers import make_settings


class FakeOpenAi(BaseHTTPRequestHandler):
    """POST /v1/chat/completions: ranks the postings in REVERSE of the order it got them."""

    mode = "ok"
    seen_auth: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAi.seen_auth.append(self.headers.get("Authorization", ""))
        if self.mode == "slow":
            time.sleep(3)
        if self.mode == "broken":
            self.send_response(500)
            self.end_headers()
            return
        listing = body["messages"][1]["content"].split("Postings:\n", 1)[1]
        ids = [int(line.split(":", 1)[0]) for line in listing.splitlines()]
        content = json.dumps({"ranking": list(reversed(ids))})
        answer = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args: Any) -> None:
        del args


@pytest.fixture
def fake_openai() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
    FakeOpenAi.mode = "ok"
    FakeOpenAi.seen_auth.clear()


def match(port: int, token: str, skills: list[str]) -> tuple[list[int], list[list[str]], float]:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        started = time.monotonic()
        response = ai_pb2_grpc.AiServiceStub(channel).MatchJobs(
            ai_pb2.MatchJobsRequest(skills=skills, limit=3), timeout=20,
            metadata=(("authorization", f"Bearer {token}"),))
    return ([m.job.id for m in response.matched_jobs],
            [list(m.match_reasons) for m in response.matched_jobs], time.monotonic() - started)


@pytest.mark.parametrize("mode", ["ok", "slow", "broken"])
def test_rerank_or_fall_back(mode: str, fake_openai: str, rest: httpx.Client, database: Database,
                             cache: Cache, tmp_path: Path) -> None:
    owner = factories.owner(rest, company_name="AI Co")
    skills = [f"ocaml{mode}", f"coq{mode}"]  # this case's own jobs only
    jobs = [factories.job(rest, owner, title=f"OCaml role {n}", skills_required=skills[:n])
            for n in (2, 1)]
    candidate = register(rest, "candidate")
    offline = create_server(make_settings(tmp_path), database, cache)
    offline.start()
    try:
        offline_order, _, _ = match(offline.port, candidate["access_token"], skills)
    finally:
        offline.stop(0)
    assert offline_order == [jobs[0]["id"], jobs[1]["id"]]
    FakeOpenAi.mode = mode
    settings = make_settings(tmp_path, openai_api_key="sk-test-not-a-real-key",
                             openai_base_url=fake_openai, openai_timeout_seconds=0.5)
    server = create_server(settings, database, cache)
    server.start()
    try:
        order, reasons, took = match(server.port, candidate["access_token"], skills)
    finally:
        server.stop(0)
    assert FakeOpenAi.seen_auth == ["Bearer sk-test-not-a-real-key"]
    if mode == "ok":
        assert order == list(reversed(offline_order))
        assert all("Re-ranked by OpenAI" in r for r in reasons)
    else:
        assert order == offline_order, "a failing model keeps the offline order"
        assert took < 2.5, "the timeout bounds the wait"
        assert not any("Re-ranked by OpenAI" in r for r in reasons)
