"""Regression tests for the bugs the API fuzzer (tests/test_api_fuzz.py) found, one each."""

from __future__ import annotations

import time

import httpx
from prometheus_client import REGISTRY

from tests.support.rest import bearer, register


def test_header_that_grpc_cannot_carry_is_dropped_not_a_500(rest: httpx.Client) -> None:
    """HTTP allows header names such as `e&` and values with non-ASCII bytes; gRPC metadata
    does not, and the worker failed the call with INTERNAL (HTTP 500). Envoy drops them."""
    account = register(rest, "company")
    answer = rest.delete("/api/jobs/3628800", headers={
        **bearer(account), "e&": "iG[6CF", "!*hO*Evv": "TE~Q0=`", "x-note": "caf\u00e9".encode()})
    assert answer.status_code == 404, answer.text
    assert rest.get("/api/jobs", headers={"x-tab": "a\tb"}).status_code == 200


def test_grpc_protocol_and_binary_headers_from_rest_clients_are_dropped(rest: httpx.Client) -> None:
    """gRPC parses its own headers and -bin metadata: a REST client's `grpc-timeout: garbage`,
    `grpc-encoding: zzz` or `x-foo-bin: %%%` made the worker fail the call (500)."""
    for name, value in (("grpc-timeout", "garbage"), ("grpc-encoding", "zzz"), ("x-foo-bin", "%%%"),
                        ("grpc-timeout", "1n")):
        answer = rest.get("/api/jobs", headers={name: value})
        assert answer.status_code == 200, (name, value, answer.text)


def test_login_and_forgot_password_with_a_nul_byte_in_the_email(rest: httpx.Client) -> None:
    """A NUL byte in the e-mail reached PostgreSQL, which refuses it in text (HTTP 500). Such an
    address is simply unknown: the same 401 as a wrong password, and the silent 200 of forgot."""
    login = rest.post("/api/auth/login", json={"email": "a\u0000@example.com", "password": "x\u0000"})
    assert login.status_code == 401, login.text
    assert login.json()["details"][0]["reason"] == "BAD_CREDENTIALS"
    forgot = rest.post("/api/auth/forgot-password", json={"email": "a\u0000@example.com"})
    assert forgot.status_code == 200, forgot.text


def _handled(code: str) -> float:
    value = REGISTRY.get_sample_value("grpc_server_handled_total", {
        "grpc_type": "client_stream", "grpc_service": "hotgigs.v1.DocumentService",
        "grpc_method": "UploadDocumentStream", "grpc_code": code})
    return value or 0.0


def test_upload_stream_cut_short_by_a_bad_message_is_cancelled_not_a_crash(rest: httpx.Client) -> None:
    """A REST upload-stream whose second message is malformed: Envoy answers 400 and drops the
    upstream stream; the worker, still reading it, logged a crash and counted INTERNAL (feeding
    the 5xx alerts). Now it is counted as CANCELLED."""
    account = register(rest, "candidate")
    internal, cancelled = _handled("INTERNAL"), _handled("CANCELLED")
    metadata = {"metadata": {"document_type": "resume", "title": "abc", "filename": "a.txt",
                             "content_type": "text/plain"}}
    answer = rest.post("/api/documents/upload-stream", headers=bearer(account),
                       json=[metadata, {"chunk": "!!!"}])
    assert answer.status_code == 400, answer.text
    deadline = time.monotonic() + 10
    while _handled("CANCELLED") == cancelled and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _handled("CANCELLED") == cancelled + 1
    assert _handled("INTERNAL") == internal
