"""The live feed refuses a missing or bad token with a normal HTTP 401 (issue 12, item 11),
not a 200 event stream with an error inside that a client would reconnect to forever."""

from __future__ import annotations

import json
from typing import Any

import grpc
import httpx
import pytest

from hotgigs.v1 import notifications_pb2, notifications_pb2_grpc
from tests.support.rest import bearer, register


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer not-a-token"},
                                     {"authorization": "Basic abc"}])
def test_the_stream_without_a_valid_token_is_401_json(rest: httpx.Client,
                                                      headers: dict[str, str]) -> None:
    with rest.stream("GET", "/api/notifications/stream", headers=headers) as response:
        body = response.read()
    assert response.status_code == 401, body
    assert response.headers["content-type"].startswith("application/json")
    assert not response.headers["content-type"].startswith("text/event-stream")
    assert json.loads(body)["code"] == 16
    assert response.headers.get("x-request-id")


def test_a_signed_in_stream_still_starts_with_a_heartbeat(rest: httpx.Client) -> None:
    account = register(rest, "candidate")
    with rest.stream("GET", "/api/notifications/stream", headers=bearer(account)) as response:
        assert response.status_code == 200
        assert response.headers.get("x-request-id")
        first = next(line for line in response.iter_lines() if line.startswith("data:"))
    assert json.loads(first[5:])["event"] == "heartbeat"


def test_the_stream_over_grpc_is_unauthenticated_with_a_request_id(
        grpc_channel: grpc.Channel) -> None:
    stub = notifications_pb2_grpc.NotificationServiceStub(grpc_channel)
    call: Any = stub.StreamNotifications(notifications_pb2.StreamNotificationsRequest(), timeout=10)
    with pytest.raises(grpc.RpcError) as caught:
        next(call)
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert dict(error.trailing_metadata() or ()).get("x-request-id")
