"""Issue 12 item 7: sign-in throttling per (e-mail, client address), through Envoy.

Before, five wrong passwords locked any account for 15 minutes, also for its owner, and the
lock answered 429 only for existing accounts (unknown ones kept answering 401). This module
runs its own server and an Envoy that trusts one X-Forwarded-For hop (as behind nginx), so a
test can speak from several client addresses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.grpc_server.server import GrpcServer, create_server
from hotgigs.security.login_throttle import LoginThrottle
from hotgigs.v1 import auth_pb2, auth_pb2_grpc
from tests.support.rest import STRONG_PASSWORD, register, unique_email
from tests.support.servers import make_settings, start_envoy
from tests.support.waiting import eventually

WRONG = "Wrong!pass9x"
MAX_FAILURES = 5
ACCOUNT_MAX_FAILURES = 12
# what differs between any two answers, whoever asks
PER_REQUEST_HEADERS = {"x-request-id", "x-trace-id", "date", "x-envoy-upstream-service-time"}


@pytest.fixture(scope="module")
def throttled(database: Database, cache: Cache, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[httpx.Client, GrpcServer]]:
    workdir = tmp_path_factory.mktemp("throttle")
    settings = make_settings(workdir, xff_trusted_hops=1, login_max_failures=MAX_FAILURES,
                             login_account_max_failures=ACCOUNT_MAX_FAILURES,
                             auth_rate_limit_per_minute=100_000, auth_rate_limit_per_hour=100_000)
    server = create_server(settings, database, cache)
    server.start()
    try:
        with start_envoy(settings, server.port, workdir / "envoy") as envoy, \
                httpx.Client(base_url=envoy.base_url, timeout=10) as client:
            yield client, server
    finally:
        server.stop(0)


@pytest.fixture
def rest_xff(throttled: tuple[httpx.Client, GrpcServer]) -> httpx.Client:
    return throttled[0]


def login(rest: httpx.Client, email: str, password: str, address: str) -> httpx.Response:
    return rest.post("/api/auth/login", json={"email": email, "password": password},
                     headers={"x-forwarded-for": address})


def fail(rest: httpx.Client, email: str, address: str, times: int) -> None:
    for _ in range(times):
        assert login(rest, email, WRONG, address).status_code == 401


def comparable(response: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in PER_REQUEST_HEADERS}
    return response.status_code, response.json(), headers


def test_the_owner_from_another_address_still_signs_in(rest_xff: httpx.Client) -> None:
    email = register(rest_xff, "candidate")["user"]["email"]
    fail(rest_xff, email, "198.51.100.1", MAX_FAILURES)
    throttled = login(rest_xff, email, STRONG_PASSWORD, "198.51.100.1")
    assert throttled.status_code == 429, throttled.text
    assert throttled.headers["retry-after"] == "1"
    assert throttled.json()["code"] == 8
    assert login(rest_xff, email, STRONG_PASSWORD, "198.51.100.2").status_code == 200


def test_retry_after_grows_with_each_further_failure(rest_xff: httpx.Client) -> None:
    email = register(rest_xff, "candidate")["user"]["email"]
    address = "198.51.100.3"
    fail(rest_xff, email, address, MAX_FAILURES)
    waits = []
    for _ in range(3):
        refused = login(rest_xff, email, WRONG, address)
        assert refused.status_code == 429
        waits.append(int(refused.headers["retry-after"]))
        # wait the block out (polling), then fail once more
        eventually(lambda: login(rest_xff, email, WRONG, address).status_code == 401)
    assert waits == [1, 2, 4]
    eventually(lambda: login(rest_xff, email, STRONG_PASSWORD, address).status_code == 200)
    assert login(rest_xff, email, WRONG, address).status_code == 401, "success cleared the count"


def test_unknown_and_existing_e_mails_get_identical_answers(rest_xff: httpx.Client) -> None:
    existing = register(rest_xff, "candidate")["user"]["email"]
    unknown = unique_email()
    address = "198.51.100.4"
    for attempt in range(MAX_FAILURES):
        a = login(rest_xff, existing, WRONG, address)
        b = login(rest_xff, unknown, WRONG, address)
        assert comparable(a) == comparable(b), attempt
        assert a.status_code == 401
    # Step both up to an 8 s block side by side (blocks of 1, 2, 4 s waited out by polling),
    # so a slow machine cannot let one block end before the comparison.
    for expected in (2, 4, 8):
        for email in (existing, unknown):
            eventually(lambda email=email: login(rest_xff, email, WRONG, address).status_code == 401)
            refused = login(rest_xff, email, WRONG, address)  # just after the failure: blocked
            assert refused.headers.get("retry-after") == str(expected), refused.text
    # even the right password of the existing account answers like the unknown e-mail
    a = login(rest_xff, existing, STRONG_PASSWORD, address)
    b = login(rest_xff, unknown, STRONG_PASSWORD, address)
    assert a.status_code == 429
    assert comparable(a) == comparable(b)


def test_distributed_guessing_hits_the_account_ceiling_but_not_known_addresses(
        rest_xff: httpx.Client) -> None:
    email = register(rest_xff, "company")["user"]["email"]
    home = "198.51.100.10"
    assert login(rest_xff, email, STRONG_PASSWORD, home).status_code == 200  # a known address
    for number in range(ACCOUNT_MAX_FAILURES):  # one failure each from many addresses
        fail(rest_xff, email, f"203.0.113.{number + 1}", 1)
    stranger = login(rest_xff, email, STRONG_PASSWORD, "203.0.113.200")
    assert stranger.status_code == 429
    assert 1 <= int(stranger.headers["retry-after"]) <= 3600
    unknown = unique_email()
    for number in range(ACCOUNT_MAX_FAILURES):
        fail(rest_xff, unknown, f"203.0.113.{number + 1}", 1)
    also = login(rest_xff, unknown, STRONG_PASSWORD, "203.0.113.200")
    assert (also.status_code, also.json()["code"]) == (stranger.status_code, stranger.json()["code"])
    assert login(rest_xff, email, STRONG_PASSWORD, home).status_code == 200


def test_grpc_callers_are_throttled_by_their_peer_address(
        throttled: tuple[httpx.Client, GrpcServer]) -> None:
    rest, server = throttled
    email = register(rest, "candidate")["user"]["email"]
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        codes = []
        for _ in range(MAX_FAILURES + 1):
            try:
                stub.Login(auth_pb2.LoginRequest(email=email, password=WRONG), timeout=10)
            except grpc.RpcError as error:
                codes.append(error.code())
        assert codes == [grpc.StatusCode.UNAUTHENTICATED] * MAX_FAILURES + [
            grpc.StatusCode.RESOURCE_EXHAUSTED]
    assert login(rest, email, STRONG_PASSWORD, "198.51.100.77").status_code == 200


def test_the_block_never_exceeds_the_lockout_setting(cache: Cache) -> None:
    throttle = LoginThrottle(cache, max_failures=5, lockout_seconds=900, account_max_failures=100)
    blocks = [throttle.block_seconds(n) for n in range(1, 100)]
    assert blocks[:4] == [0, 0, 0, 0]
    assert blocks[4:8] == [1, 2, 4, 8]
    assert max(blocks) == 900 and blocks == sorted(blocks)
