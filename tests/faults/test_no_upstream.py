"""Envoy with no worker to send to: a JSON 503 in the API's error model, with Retry-After."""

from __future__ import annotations

from pathlib import Path

import httpx

from hotgigs.dev.embedded import free_port
from tests.faults.support import envoy_for, fault_settings, healthy_upstreams, wait_until


def test_no_healthy_upstream_is_a_json_503_with_retry_after(tmp_path: Path) -> None:
    settings = fault_settings(tmp_path)
    dead_ports = [free_port(), free_port()]  # workers that are all gone
    with envoy_for(settings, dead_ports, tmp_path / "envoy") as envoy, \
            httpx.Client(base_url=envoy.base_url, timeout=10) as rest:
        assert wait_until(lambda: healthy_upstreams(envoy) == 0)
        for path in ("/api/jobs?search=python", "/api/health"):
            response = rest.get(path)
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith("application/json")
            assert response.headers["retry-after"] == "1"
            body = response.json()
            assert body["code"] == 14, body  # UNAVAILABLE, as the workers' own 503s
            assert body["message"]
        posted = rest.post("/api/auth/login", json={"email": "a@example.com", "password": "x"})
        assert posted.status_code == 503
        assert posted.json()["code"] == 14
