"""Oversized headers and URLs (issue 12, item 9, Envoy under `make run`): 431 with a plain JSON
body naming no internal header, never 429 with Retry-After; under Envoy's limit they work."""

from __future__ import annotations

import grpc
import httpx
import pytest

from hotgigs.v1 import health_pb2, health_pb2_grpc

INTERNAL = ("x-hotgigs", "x-envoy", "grpc", ":authority", "proxy-secret")


def assert_431(response: httpx.Response) -> None:
    assert response.status_code == 431, response.text
    assert "retry-after" not in response.headers
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"code": 3, "message": "Request header or cookie too large"}


@pytest.mark.parametrize("size", [9 * 1024, 12 * 1024, 15 * 1024])
def test_headers_between_8_and_16_kb_are_served(rest: httpx.Client, size: int) -> None:
    """The workers refused these with 429 (gRPC's 8 KiB metadata limit)."""
    response = rest.get("/api/health", headers={"cookie": "session=" + "a" * size})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("size", [17 * 1024, 40 * 1024, 100 * 1024])
def test_an_oversized_cookie_is_431(rest: httpx.Client, size: int) -> None:
    assert_431(rest.get("/api/health", headers={"cookie": "session=" + "a" * size}))


def test_an_oversized_url_is_431(rest: httpx.Client) -> None:
    response = rest.get("/api/jobs", params={"search": "a" * (20 * 1024)})
    assert_431(response)
    lowered = response.text.lower()
    assert not any(name in lowered for name in INTERNAL)


def test_a_long_url_under_the_limit_is_an_ordinary_answer(rest: httpx.Client) -> None:
    response = rest.get("/api/jobs", params={"search": "a" * (10 * 1024)})
    assert response.status_code == 400  # the search term is too long: a validation error
    assert "retry-after" not in response.headers


def test_large_metadata_over_direct_grpc_is_served(grpc_channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthServiceStub(grpc_channel)
    answer = stub.GetHealth(health_pb2.GetHealthRequest(),
                            metadata=(("x-large", "a" * (40 * 1024)),), timeout=10)
    assert answer.status
