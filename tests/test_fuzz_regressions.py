"""Regression tests for the bugs the API fuzzer (tests/test_api_fuzz.py) found, one each."""

from __future__ import annotations

import httpx

from tests.auth.helpers import bearer, register


def test_header_that_grpc_cannot_carry_is_dropped_not_a_500(rest: httpx.Client) -> None:
    """HTTP allows header names such as `e&` and values with non-ASCII bytes; gRPC metadata
    does not, and the worker failed the call with INTERNAL (HTTP 500). Envoy drops them."""
    account = register(rest, "company")
    answer = rest.delete("/api/jobs/3628800", headers={
        **bearer(account), "e&": "iG[6CF", "!*hO*Evv": "TE~Q0=`", "x-note": "caf\u00e9".encode()})
    assert answer.status_code == 404, answer.text
    assert rest.get("/api/jobs", headers={"x-tab": "a\tb"}).status_code == 200
