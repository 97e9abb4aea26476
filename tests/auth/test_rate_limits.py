"""Rate limits with the real defaults, through Envoy, on a server of this module's own."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import free_port
from hotgigs.grpc_server.server import create_server
from hotgigs.security.ratelimit import Limit, RateLimiter
from hotgigs.settings import Settings
from tests.support.rest import bearer, register
from tests.support.servers import make_settings, start_envoy


@pytest.fixture(scope="module")
def limited_rest(database: Database, cache: Cache,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """REST with the defaults of the seed: 100/minute, 1000/hour; auth flows 10/minute."""
    workdir = tmp_path_factory.mktemp("limited")
    settings: Settings = make_settings(workdir)
    cache.client.flushdb()  # fresh windows; nothing else in the suite depends on Redis state
    server = create_server(settings, database, cache)
    server.start()
    try:
        with start_envoy(settings, server.port, workdir / "envoy") as envoy, \
                httpx.Client(base_url=envoy.base_url, timeout=10) as client:
            yield client
    finally:
        server.stop(0)


def test_the_101st_request_in_a_minute_is_429_with_retry_after(limited_rest: httpx.Client) -> None:
    account = register(limited_rest, "candidate")
    statuses = [limited_rest.get("/api/auth/me", headers=bearer(account)).status_code
                for _ in range(100)]
    assert statuses == [200] * 100
    over = limited_rest.get("/api/auth/me", headers=bearer(account))
    assert over.status_code == 429
    assert over.json()["code"] == 8
    retry_after = int(over.headers["retry-after"])
    # Sliding window: when the 100 calls all fell in the current minute, the 101st may go once
    # that minute is the previous one and its share has faded to 99: 60 * (1 + 1/100) = 60.6 s
    # after the minute began, so up to 61 s (seen when the test started at a minute's edge).
    assert 1 <= retry_after <= 61
    # Another user has a budget of their own.
    other = register(limited_rest, "candidate")
    assert limited_rest.get("/api/auth/me", headers=bearer(other)).status_code == 200


def test_cached_answers_count_against_the_limit(limited_rest: httpx.Client) -> None:
    """The answer cache makes the rate limit's count (one Redis round trip for both): a
    search served from the cache is counted, and the 101st is refused though it is cached."""
    account = register(limited_rest, "candidate")
    query = {"search": f"ratelimited{uuid.uuid4().hex[:8]}"}
    answers = [limited_rest.get("/api/jobs", params=query, headers=bearer(account))
               for _ in range(100)]
    assert [answer.status_code for answer in answers] == [200] * 100
    over = limited_rest.get("/api/jobs", params=query, headers=bearer(account))
    assert over.status_code == 429, over.text
    assert 1 <= int(over.headers["retry-after"]) <= 60
    assert "jobs" not in over.json()


def test_health_is_exempt(limited_rest: httpx.Client) -> None:
    assert all(limited_rest.get("/api/health").status_code == 200 for _ in range(120))


def test_auth_flows_have_a_tighter_limit_per_address(limited_rest: httpx.Client) -> None:
    statuses = [limited_rest.post("/api/auth/forgot-password",
                                  json={"email": "nobody@example.com"}).status_code
                for _ in range(12)]
    assert 429 in statuses
    assert statuses.index(429) <= 10


def test_client_address_header_is_not_trusted_without_the_proxy_secret(
        database: Database, cache: Cache, tmp_path: Path) -> None:
    """A direct gRPC caller cannot choose its identity by sending the proxy's header."""
    import grpc

    from hotgigs.v1 import auth_pb2, auth_pb2_grpc

    settings = make_settings(tmp_path, auth_rate_limit_per_minute=3)
    cache.client.flushdb()
    server = create_server(settings, database, cache)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = auth_pb2_grpc.AuthServiceStub(channel)
            codes = []
            for number in range(5):
                metadata = (("x-hotgigs-client-address", f"10.0.0.{number}"),
                            ("x-hotgigs-proxy-secret", "guess"))
                try:
                    stub.ForgotPassword(auth_pb2.ForgotPasswordRequest(email="x@example.com"),
                                        metadata=metadata, timeout=5)
                    codes.append("OK")
                except grpc.RpcError as error:
                    codes.append(error.code().name)
        assert codes == ["OK", "OK", "OK", "RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED"]
    finally:
        server.stop(0)


def _dead_redis_url() -> str:
    port = free_port()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    return f"redis://127.0.0.1:{port}/0"


def test_with_redis_down_limits_still_hold_per_process() -> None:
    """The chosen behaviour: fail open to a local limiter, not to no limit at all."""
    dead = Cache(_dead_redis_url(), timeout_seconds=0.2)
    limiter = RateLimiter(dead, {"default": [Limit(100, 60), Limit(1000, 3600)]},
                          clock=lambda: 1_000_000.0)
    decisions = [limiter.hit("default", "user:1") for _ in range(101)]
    assert all(decision.allowed for decision in decisions[:100])
    assert not decisions[100].allowed
    # The minute window ends at 1_000_020; its 100 calls (the refused one is not counted) then
    # fade over the next window until one more fits: 60 * (1 - 99/100) = 0.6 s later.
    assert decisions[100].retry_after_seconds == 21
    assert limiter.hit("default", "user:2").allowed


def test_with_redis_down_the_service_keeps_answering(database: Database, tmp_path: Path) -> None:
    import grpc

    from hotgigs.v1 import auth_pb2, auth_pb2_grpc

    settings = make_settings(tmp_path)
    dead = Cache(_dead_redis_url(), timeout_seconds=0.2)
    server = create_server(settings, database, dead)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = auth_pb2_grpc.AuthServiceStub(channel)
            response = stub.ForgotPassword(auth_pb2.ForgotPasswordRequest(email="x@example.com"),
                                           timeout=10)
            assert response.message
    finally:
        server.stop(0)


class _Clock:
    """A clock the test moves."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _limiter(cache: Cache, clock: _Clock) -> RateLimiter:
    return RateLimiter(cache, {"default": [Limit(100, 60)]}, clock=clock)


def test_a_burst_across_a_window_boundary_is_still_limited(cache: Cache) -> None:
    """100/minute holds in any minute: 100 calls just before a window turns leave no room
    just after it (a fixed window would allow 200 in one second)."""
    clock = _Clock(60 * 20_000_000 - 0.5)
    limiter = _limiter(cache, clock)
    identity = f"user:{uuid.uuid4()}"
    assert all(limiter.hit("default", identity).allowed for _ in range(100))
    clock.now += 1.0
    refused = limiter.hit("default", identity)
    assert not refused.allowed
    assert refused.limit == Limit(100, 60)


def test_retry_after_is_when_the_next_call_is_allowed(cache: Cache) -> None:
    start = 60 * 20_000_100 + 30.0
    for wait_less, expected in ((0, True), (1, False)):
        clock = _Clock(start)
        limiter = _limiter(cache, clock)
        identity = f"user:{uuid.uuid4()}"
        decisions = [limiter.hit("default", identity) for _ in range(101)]
        assert [d.allowed for d in decisions].count(True) == 100
        retry_after = decisions[-1].retry_after_seconds
        assert 30 < retry_after <= 60
        clock.now += retry_after - wait_less
        assert limiter.hit("default", identity).allowed is expected


def test_refused_calls_do_not_push_the_wait_further(cache: Cache) -> None:
    clock = _Clock(60 * 20_000_300 + 30.0)
    limiter = _limiter(cache, clock)
    identity = f"user:{uuid.uuid4()}"
    assert [limiter.hit("default", identity).allowed for _ in range(100)].count(True) == 100
    first = limiter.hit("default", identity)
    assert not any(limiter.hit("default", identity).allowed for _ in range(50))
    later = limiter.hit("default", identity)
    assert later.retry_after_seconds == first.retry_after_seconds
    clock.now += first.retry_after_seconds
    assert limiter.hit("default", identity).allowed


def test_after_two_quiet_windows_the_whole_budget_is_back(cache: Cache) -> None:
    clock = _Clock(60 * 20_000_200 + 10.0)
    limiter = _limiter(cache, clock)
    identity = f"user:{uuid.uuid4()}"
    assert [limiter.hit("default", identity).allowed for _ in range(101)].count(True) == 100
    clock.now += 120
    assert all(limiter.hit("default", identity).allowed for _ in range(100))
    assert not limiter.hit("default", identity).allowed


def test_oauth_sign_in_has_the_auth_flows_limit(limited_rest: httpx.Client) -> None:
    """Issue 20 item 1: POST /api/auth/oauth is limited like login, per client address (its
    own address here, so the other auth tests' windows do not count)."""
    transport = httpx.HTTPTransport(local_address="127.0.0.4")
    with httpx.Client(base_url=limited_rest.base_url, timeout=10, transport=transport) as client:
        statuses = [client.post("/api/auth/oauth", json={"provider": "google",
                                                         "id_token": "x"}).status_code
                    for _ in range(12)]
    assert statuses[:10] == [400] * 10  # no provider configured here: refused, but counted
    assert statuses[10:] == [429, 429]
