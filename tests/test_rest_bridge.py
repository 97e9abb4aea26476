"""REST through the real Envoy: transcoding, JSON errors, validation, CORS, gzip, access log."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import httpx
import pytest
import yaml

from hotgigs import runtime
from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.grpc_server.server import create_server
from hotgigs.settings import Settings
from http_bridge import envoy_config
from http_bridge.envoy_process import EnvoyError, validate
from tests.support.servers import RunningEnvoy, start_envoy

ALLOWED_ORIGIN = "https://app.hotgigs.test"


def assert_json_error(response: httpx.Response, http_status: int, grpc_code: int) -> dict[str, object]:
    assert response.status_code == http_status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["code"] == grpc_code
    assert isinstance(body["message"], str)
    assert body["message"]
    return dict(body)


class TestEnvoyConfig:
    def test_rendered_config_passes_envoy_validate(self, envoy: RunningEnvoy) -> None:
        """The config the tests run is accepted by `envoy --mode validate`."""
        output = validate(envoy.config_path)
        assert "OK" in output

    def test_validate_rejects_a_broken_config(self, settings: Settings, tmp_path: Path) -> None:
        """The validate step really checks: a descriptor that does not exist is refused."""
        options = runtime.envoy_options(settings, 50051, tmp_path / "missing.pb")
        path = envoy_config.write(options, tmp_path / "envoy.yaml")
        with pytest.raises(EnvoyError, match="envoy rejected"):
            validate(path)

    def test_config_lists_every_api_service(self, envoy: RunningEnvoy) -> None:
        config = yaml.safe_load(envoy.config_path.read_text())
        manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        transcoder = next(f for f in manager["typed_config"]["http_filters"]
                          if f["name"] == "envoy.filters.http.grpc_json_transcoder")
        services = transcoder["typed_config"]["services"]
        assert len(services) == 15  # health, ten original modules, accounts, operations, audit, privacy
        assert transcoder["typed_config"]["convert_grpc_status"] is True


class TestHealth:
    def test_health_reports_database_and_cache_up(self, rest: httpx.Client, settings: Settings) -> None:
        response = rest.get("/api/health")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "healthy"
        assert body["environment"] == "test"
        assert body["version"] == settings.version
        assert body["timestamp"]
        for dependency in ("database", "cache"):
            assert body[dependency]["status"] == "up"
            assert body[dependency]["response_time_ms"] > 0

    def test_grpc_plumbing_headers_are_hidden(self, rest: httpx.Client) -> None:
        response = rest.get("/api/health")
        assert "grpc-status" not in response.headers
        assert "grpc-accept-encoding" not in response.headers
        assert "x-http-status" not in response.headers
        assert response.headers["x-request-id"]


class TestRouting:
    def test_unknown_route_is_a_json_404(self, rest: httpx.Client) -> None:
        assert_json_error(rest.get("/api/nonexistent"), 404, 5)

    def test_unknown_method_on_a_known_path_is_a_json_404(self, rest: httpx.Client) -> None:
        assert_json_error(rest.request("PATCH", "/api/health"), 404, 5)

    def test_an_unimplemented_rpc_is_a_json_501(self, settings: Settings, database: Database,
                                                 cache: Cache, tmp_path: Path) -> None:
        """Every module is built now, so a server with no implementations stands in for a
        module that is not: its RPCs answer UNIMPLEMENTED, which REST shows as a JSON 501."""
        server = create_server(settings, database, cache, implementations={})
        server.start()
        try:
            with start_envoy(settings, server.port, tmp_path) as bare, \
                    httpx.Client(base_url=bare.base_url, timeout=10) as client:
                error = assert_json_error(client.get("/api/ai/health"), 501, 12)
                assert "not implemented yet" in str(error["message"])
                assert_json_error(client.get("/api/jobs/stats"), 501, 12)
        finally:
            server.stop(0)

    def test_trailing_slash_search_reaches_job_search(self, rest: httpx.Client) -> None:
        """The original integration script calls GET /api/jobs/?search=software."""
        with_slash = rest.get("/api/jobs/", params={"search": "software engineer"})
        without = rest.get("/api/jobs", params={"search": "software engineer"})
        assert with_slash.status_code == without.status_code == 200
        assert with_slash.json() == without.json()
        assert with_slash.json()["filters_applied"]["search"] == "software engineer"

    def test_bad_query_value_is_a_json_400(self, rest: httpx.Client) -> None:
        assert_json_error(rest.get("/api/jobs", params={"limit": "abc"}), 400, 3)

    def test_unknown_query_parameter_is_a_json_400(self, rest: httpx.Client) -> None:
        assert_json_error(rest.get("/api/jobs", params={"bogus": "1"}), 400, 3)

    def test_malformed_json_body_is_a_json_400(self, rest: httpx.Client) -> None:
        response = rest.post("/api/auth/login", content=b"{not json",
                             headers={"content-type": "application/json"})
        assert_json_error(response, 400, 3)


class TestEdgeBehaviour:
    def test_cors_preflight_for_an_allowed_origin(self, rest: httpx.Client) -> None:
        response = rest.options("/api/jobs", headers={
            "Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "GET"})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "GET" in response.headers["access-control-allow-methods"]

    def test_cors_preflight_for_another_origin_is_not_allowed(self, rest: httpx.Client) -> None:
        response = rest.options("/api/jobs", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in response.headers

    def test_responses_are_gzipped_when_asked(self, envoy: RunningEnvoy) -> None:
        # httpx would decompress transparently; read the raw bytes instead.
        with httpx.Client(base_url=envoy.base_url, timeout=10) as client, \
                client.stream("GET", "/api/health", headers={"Accept-Encoding": "gzip"}) as raw:
            assert raw.headers.get("content-encoding") == "gzip"
            body = b"".join(raw.iter_raw())
        assert json.loads(gzip.decompress(body))["status"] == "healthy"

    def test_access_log_records_each_request(self, rest: httpx.Client, envoy: RunningEnvoy) -> None:
        response = rest.get("/api/health")
        request_id = response.headers["x-request-id"]
        deadline = time.monotonic() + 5
        entries: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            entries = [json.loads(line) for line in envoy.access_log.read_text().splitlines()
                       if request_id in line]
            if entries:
                break
            time.sleep(0.1)
        assert entries, "no access log line with the request id the client got back"
        assert entries[0]["status"] == 200
        assert entries[0]["path"] == "/api/health"
        assert entries[0]["method"] == "GET"

    def test_access_log_never_records_the_verify_email_token(self, rest: httpx.Client,
                                                              envoy: RunningEnvoy) -> None:
        token = "SecretVerifyToken" + "x" * 20
        response = rest.get(f"/api/auth/verify-email/{token}", params={"a": "b"},
                            headers={"x-hotgigs-log-path": "/forged"})
        request_id = response.headers["x-request-id"]
        deadline = time.monotonic() + 5
        entries: list[dict[str, object]] = []
        while time.monotonic() < deadline and not entries:
            entries = [json.loads(line) for line in envoy.access_log.read_text().splitlines()
                       if request_id in line]
            time.sleep(0.1)
        assert entries, "no access log line with the request id the client got back"
        assert entries[0]["path"] == "/api/auth/verify-email/[redacted]?a=b"
        assert token not in envoy.access_log.read_text()


def test_oversized_body_is_refused_at_envoy(rest: httpx.Client) -> None:
    """Bodies above the cap (16 MB documents plus JSON slack) never reach the workers."""
    body = b'{"email": "' + b"a" * (17 * 1024 * 1024) + b'"}'
    response = rest.post("/api/auth/forgot-password", content=body,
                         headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == 8
