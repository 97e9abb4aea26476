"""The live feed opens from a browser's EventSource (issue 19, item 2): no Authorization
header, a one-time ticket from POST /api/notifications/stream-ticket in the query instead.
Forged, reused, expired and signed-out tickets get a plain 401 JSON answer."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from hotgigs.cache import Cache
from hotgigs.context import Principal
from hotgigs.notifications import tickets
from tests.support.rest import bearer, register
from tests.support.servers import RunningEnvoy

STREAM = "/api/notifications/stream"


def new_ticket(rest: httpx.Client, account: dict[str, Any]) -> str:
    response = rest.post("/api/notifications/stream-ticket", headers=bearer(account), json={})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] == tickets.TTL_SECONDS
    ticket: str = body["ticket"]
    return ticket


def first_event(rest: httpx.Client, ticket: str) -> dict[str, Any]:
    with rest.stream("GET", STREAM, params={"ticket": ticket}) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        line = next(line for line in response.iter_lines() if line.startswith("data:"))
    event: dict[str, Any] = json.loads(line[5:])
    return event


def refused(rest: httpx.Client, ticket: str) -> dict[str, Any]:
    with rest.stream("GET", STREAM, params={"ticket": ticket}) as response:
        body = response.read()
    assert response.status_code == 401, body
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = json.loads(body)
    assert error["code"] == 16
    return error


def test_a_ticket_opens_the_feed_without_an_authorization_header(rest: httpx.Client) -> None:
    account = register(rest, "candidate")
    assert first_event(rest, new_ticket(rest, account))["event"] == "heartbeat"


def test_a_ticket_opens_the_feed_only_once(rest: httpx.Client) -> None:
    ticket = new_ticket(rest, register(rest, "candidate"))
    first_event(rest, ticket)
    assert "invalid, expired or already used" in refused(rest, ticket)["message"]


@pytest.mark.parametrize("ticket", ["forged-ticket", "x" * 5000, "é" * 10, "' OR 1=1 --"])
def test_a_forged_ticket_is_refused(rest: httpx.Client, ticket: str) -> None:
    assert "invalid" in refused(rest, ticket)["message"]


def test_an_expired_ticket_is_refused(rest: httpx.Client, cache: Cache) -> None:
    account = register(rest, "candidate")
    principal = Principal(user_id=account["user"]["id"], role="candidate",
                          session_id="any", token_id="any")
    stale = tickets.issue(cache.client, principal, now=time.time() - 2 * tickets.TTL_SECONDS)
    assert "expired" in refused(rest, stale)["message"]


def test_a_signed_out_sessions_ticket_is_refused(rest: httpx.Client) -> None:
    account = register(rest, "candidate")
    ticket = new_ticket(rest, account)
    response = rest.post("/api/auth/logout", headers=bearer(account),
                         json={"refresh_token": account["refresh_token"]})
    assert response.status_code == 200, response.text
    refused(rest, ticket)


def test_a_ticket_needs_a_signed_in_caller(rest: httpx.Client) -> None:
    response = rest.post("/api/notifications/stream-ticket", json={})
    assert response.status_code == 401
    assert response.json()["code"] == 16


def test_the_access_log_never_records_a_ticket(rest: httpx.Client, envoy: RunningEnvoy) -> None:
    ticket = new_ticket(rest, register(rest, "candidate"))
    with rest.stream("GET", STREAM, params={"ticket": ticket, "a": "b"}) as response:
        request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 5  # the stream's log line is written when it closes
    entries: list[dict[str, object]] = []
    while time.monotonic() < deadline and not entries:
        entries = [json.loads(line) for line in envoy.access_log.read_text().splitlines()
                   if request_id in line]
        time.sleep(0.1)
    assert entries, "no access log line with the request id the client got back"
    assert entries[0]["path"] == f"{STREAM}?ticket=[redacted]&a=b"
    assert ticket not in envoy.access_log.read_text()
