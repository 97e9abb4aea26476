"""Invalid UTF-8 wherever a string enters (issue 12, item 8): a 400 with reason
UNDECODABLE_REQUEST and an x-request-id, over REST through Envoy and direct gRPC, and no
"Exception deserializing request!" traceback in the log."""

from __future__ import annotations

import logging
from typing import Any

import grpc
import httpx
import pytest

from tests.support.rest import bearer, register


def assert_undecodable(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-request-id")
    body: dict[str, Any] = response.json()
    assert body["code"] == 3
    assert "Traceback" not in response.text and "deserializing" not in response.text


@pytest.fixture
def no_deserializing_errors(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.WARNING)
    yield
    assert not [r for r in caplog.records if "deserializ" in r.getMessage()]


@pytest.mark.usefixtures("no_deserializing_errors")
@pytest.mark.parametrize("path", ["/api/jobs?search=%ff%fe", "/api/jobs/?location=%c3%28",
                                  "/api/auth/verify-email/%ff%fe", "/api/users/search?q=%ff"])
def test_invalid_utf8_in_query_or_path_is_400(rest: httpx.Client, path: str) -> None:
    response = rest.get(path)
    assert_undecodable(response)
    if "verify-email" not in path and "users/search" not in path:
        assert "UNDECODABLE_REQUEST" in response.text


@pytest.mark.usefixtures("no_deserializing_errors")
def test_invalid_utf8_signed_in(rest: httpx.Client) -> None:
    account = register(rest, "company")
    response = rest.get("/api/users/search?q=%ff", headers=bearer(account))
    assert_undecodable(response)
    assert "UNDECODABLE_REQUEST" in response.text


@pytest.mark.usefixtures("no_deserializing_errors")
@pytest.mark.parametrize("body", [b'{"email": "\xff\xfe@example.com", "password": "x"}',
                                  b'{"email": "\\ud800@example.com", "password": "x"}'])
def test_invalid_utf8_in_a_json_body_is_400(rest: httpx.Client, body: bytes) -> None:
    response = rest.post("/api/auth/login", content=body,
                         headers={"content-type": "application/json"})
    assert_undecodable(response)


@pytest.mark.usefixtures("no_deserializing_errors")
@pytest.mark.parametrize("method", ["/hotgigs.v1.AuthService/Login",
                                    "/hotgigs.v1.JobService/SearchJobs",
                                    "/hotgigs.v1.UserService/SearchUsers"])
def test_invalid_utf8_over_grpc_is_invalid_argument(grpc_channel: grpc.Channel,
                                                    method: str) -> None:
    call = grpc_channel.unary_unary(method, request_serializer=lambda raw: raw,
                                    response_deserializer=lambda raw: raw)
    with pytest.raises(grpc.RpcError) as caught:
        call.with_call(b"\x0a\x02\xff\xfe", timeout=10)  # field 1 (a string): two bad bytes
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "decoded" in error.details()
    assert dict(error.initial_metadata() or ()).get("x-request-id")


def test_an_oversized_message_over_grpc_is_invalid_argument(grpc_channel: grpc.Channel) -> None:
    call = grpc_channel.unary_unary("/hotgigs.v1.AuthService/Login",
                                    request_serializer=lambda raw: raw,
                                    response_deserializer=lambda raw: raw)
    size = 2 * 1024 * 1024
    payload = b"\x0a" + bytes([0x80 | (size & 0x7F), 0x80 | ((size >> 7) & 0x7F), size >> 14]) \
        + b"a" * size
    with pytest.raises(grpc.RpcError) as caught:
        call(payload, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "larger than" in (caught.value.details() or "")  # type: ignore[attr-defined]
