"""`hotgigs envoy-config` as the Ansible envoy role runs it: one --upstream per worker of every
API host, the descriptor set from a folder of its own, and clear errors for bad values."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from hotgigs import runtime
from hotgigs.settings import ConfigError, EdgeSettings, Settings
from http_bridge.envoy_config import UPSTREAM_CLUSTER
from http_bridge.envoy_process import validate
from tests.support.servers import TEST_KEKS_ENV

HOTGIGS = shutil.which("hotgigs", path=str(Path(sys.executable).parent)) or "hotgigs"


def envoy_config(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTGIGS_ENV": "development"}
    return subprocess.run([HOTGIGS, "envoy-config", *args], capture_output=True, text=True,
                          timeout=60, env=env, check=False)


def endpoints(config: dict[str, Any]) -> list[tuple[str, int]]:
    cluster = next(c for c in config["static_resources"]["clusters"] if c["name"] == UPSTREAM_CLUSTER)
    return [(e["endpoint"]["address"]["socket_address"]["address"],
             e["endpoint"]["address"]["socket_address"]["port_value"])
            for group in cluster["load_assignment"]["endpoints"] for e in group["lb_endpoints"]]


class TestUpstreams:
    def test_every_upstream_is_an_endpoint_with_health_checks(self, tmp_path: Path) -> None:
        """Repeated --upstream values become the cluster's endpoints, in order, health-checked;
        Envoy accepts the result."""
        result = envoy_config("--upstream", "127.0.0.1:50051", "--upstream", "127.0.0.1:50052",
                              "--upstream", "10.0.0.12:50051", "--upstream", "[::1]:50052")
        assert result.returncode == 0, result.stderr
        config = yaml.safe_load(result.stdout)
        assert endpoints(config) == [("127.0.0.1", 50051), ("127.0.0.1", 50052),
                                     ("10.0.0.12", 50051), ("::1", 50052)]
        cluster = next(c for c in config["static_resources"]["clusters"] if c["name"] == UPSTREAM_CLUSTER)
        assert cluster["health_checks"][0]["grpc_health_check"]
        path = tmp_path / "envoy.yaml"
        path.write_text(result.stdout)
        validate(path)

    def test_a_repeated_upstream_is_listed_once(self) -> None:
        result = envoy_config("--upstream", "10.0.0.12:50051", "--upstream", "10.0.0.12:50051")
        assert result.returncode == 0, result.stderr
        assert endpoints(yaml.safe_load(result.stdout)) == [("10.0.0.12", 50051)]

    def test_without_upstreams_the_settings_address_is_used(self) -> None:
        result = envoy_config("--grpc-port", "50057")
        assert result.returncode == 0, result.stderr
        assert endpoints(yaml.safe_load(result.stdout)) == [("127.0.0.1", 50057)]

    @pytest.mark.parametrize(("value", "message"), [
        ("10.0.0.12", "expected HOST:PORT"),
        (":50051", "expected HOST:PORT"),
        ("api2.hotgigs.example:50051", "must be an IP address"),
        ("10.0.0.12:0", "port must be a number from 1 to 65535"),
        ("10.0.0.12:http", "port must be a number from 1 to 65535"),
        ("::1:50051", "IPv6 addresses go in brackets"),
    ])
    def test_a_bad_upstream_is_a_clear_error(self, value: str, message: str) -> None:
        """A bad value exits 2 with a message naming the option and the value, no traceback."""
        result = envoy_config("--upstream", value)
        assert result.returncode == 2
        assert "--upstream" in result.stderr and repr(value) in result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr

    def test_upstream_and_grpc_port_exclude_each_other(self) -> None:
        result = envoy_config("--upstream", "127.0.0.1:50051", "--grpc-port", "50052")
        assert result.returncode == 2
        assert "not allowed with argument" in result.stderr

    def test_help_explains_the_option(self) -> None:
        result = envoy_config("--help")
        assert result.returncode == 0
        assert "--upstream IP:PORT" in result.stdout
        assert "repeat for each worker" in result.stdout


class TestDescriptorSet:
    def test_descriptor_and_openapi_come_from_the_given_folder(self, tmp_path: Path) -> None:
        """--descriptor-set FILE: Envoy loads FILE and serves openapi.json from its folder (the
        role copies both to /etc/hotgigs/envoy, so a new release with the same API leaves
        Envoy's config unchanged)."""
        source = runtime.descriptor_path()
        shutil.copy(source, tmp_path / "api_descriptor.pb")
        shutil.copy(source.with_name("openapi.json"), tmp_path / "openapi.json")
        result = envoy_config("--descriptor-set", str(tmp_path / "api_descriptor.pb"))
        assert result.returncode == 0, result.stderr
        assert str(tmp_path / "api_descriptor.pb") in result.stdout
        assert str(tmp_path / "openapi.json") in result.stdout
        assert str(source) not in result.stdout

    def test_a_missing_descriptor_set_is_a_clear_error(self, tmp_path: Path) -> None:
        result = envoy_config("--descriptor-set", str(tmp_path / "missing.pb"))
        assert result.returncode == 2
        assert "missing.pb: no such file" in result.stderr
        assert "Traceback" not in result.stderr


class TestUnderPressure:
    def test_worker_cluster_has_breakers_retry_budget_and_outlier_detection(
            self, tmp_path: Path) -> None:
        """Retries are bounded by a budget (not a fixed 1024), the cluster has circuit breakers
        and ejects failing workers (at most half of them); Envoy accepts the result."""
        result = envoy_config("--upstream", "127.0.0.1:50051", "--upstream", "127.0.0.1:50052")
        assert result.returncode == 0, result.stderr
        config = yaml.safe_load(result.stdout)
        cluster = next(c for c in config["static_resources"]["clusters"] if c["name"] == UPSTREAM_CLUSTER)
        (breaker,) = cluster["circuit_breakers"]["thresholds"]
        assert "max_retries" not in breaker
        # a worker's in-flight limit (HOTGIGS_MAX_CONCURRENT_RPCS, 64 by default) can always
        # be retried; beyond it, at most 20 % of the requests in flight
        assert breaker["retry_budget"] == {"budget_percent": {"value": 20.0},
                                           "min_retry_concurrency": 64}
        for limit in ("max_connections", "max_pending_requests", "max_requests"):
            assert breaker[limit] >= 1024
        outlier = cluster["outlier_detection"]
        assert outlier["consecutive_5xx"] > 0 and outlier["consecutive_gateway_failure"] > 0
        assert outlier["enforcing_consecutive_gateway_failure"] == 100
        assert 0 < outlier["max_ejection_percent"] <= 50
        assert outlier["base_ejection_time"] == "10s"
        path = tmp_path / "envoy.yaml"
        path.write_text(result.stdout)
        validate(path)


class TestPureEdge:
    """A pure edge host has Envoy's settings only (/etc/hotgigs/envoy.env): no database, Redis
    or signing key. The renderer needs nothing else, and still refuses what it must."""

    EDGE_ENV: ClassVar[dict[str, str]] = {"HOTGIGS_ENV": "production", "HOTGIGS_PROXY_SECRET": "p" * 24,
                "HOTGIGS_XFF_TRUSTED_HOPS": "1", "CORS_ORIGINS": "https://hotgigs.example",
                "HOTGIGS_ENVOY_ACCESS_LOG": "/var/log/hotgigs/envoy-access.log"}

    def run(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        clean = {key: value for key, value in os.environ.items()
                 if key not in ("DATABASE_URL", "CACHE_REDIS_URL", "JWT_SECRET_KEY")}
        return subprocess.run([HOTGIGS, "envoy-config", "--upstream", "10.0.0.12:50051", *args],
                              capture_output=True, text=True, timeout=60, env={**clean, **env}, check=False)

    def test_production_edge_settings_render_a_valid_config(self, tmp_path: Path) -> None:
        """HOTGIGS_ENV=production without DATABASE_URL, CACHE_REDIS_URL or JWT_SECRET_KEY (the
        full settings refuse that): the configuration renders with the edge's values, and
        Envoy accepts it."""
        with pytest.raises(ConfigError, match="JWT_SECRET_KEY is required"):
            Settings.from_env(self.EDGE_ENV)
        result = self.run(self.EDGE_ENV)
        assert result.returncode == 0, result.stderr
        assert "p" * 24 in result.stdout  # the proxy secret Envoy sends to the workers
        assert "/var/log/hotgigs/envoy-access.log" in result.stdout
        assert "https://hotgigs.example" in result.stdout
        assert endpoints(yaml.safe_load(result.stdout)) == [("10.0.0.12", 50051)]
        path = tmp_path / "envoy.yaml"
        path.write_text(result.stdout.replace("/var/log/hotgigs/envoy-access.log",
                                              str(tmp_path / "access.log")))
        validate(path)

    def test_the_edge_traces_to_the_inventorys_collector_with_its_sampler_and_name(
            self, tmp_path: Path) -> None:
        """Issue 15 item 9: the OTEL_* lines the envoy role writes to envoy.env (the inventory's
        hotgigs_otel_*) give Envoy's tracer that collector, a parent-based ratio sampler with that
        ratio and that service name; Envoy accepts the configuration."""
        result = self.run({**self.EDGE_ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://10.0.0.9:4317",
                           "OTEL_TRACES_SAMPLER_ARG": "0.25", "OTEL_SERVICE_NAME": "shop-envoy"})
        assert result.returncode == 0, result.stderr
        config = yaml.safe_load(result.stdout)
        manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
        tracer = manager["typed_config"]["tracing"]["provider"]["typed_config"]
        assert tracer["service_name"] == "shop-envoy"
        assert tracer["sampler"]["name"] == "envoy.tracers.opentelemetry.samplers.parent_based"
        ratio = tracer["sampler"]["typed_config"]["wrapped_sampler"]["typed_config"]["sampling_percentage"]
        assert ratio == {"numerator": 250000, "denominator": "MILLION"}
        collector = next(c for c in config["static_resources"]["clusters"] if c["name"] == "otel_collector")
        address = collector["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
        assert address["socket_address"] == {"address": "10.0.0.9", "port_value": 4317}
        path = tmp_path / "envoy.yaml"
        path.write_text(result.stdout.replace("/var/log/hotgigs/envoy-access.log",
                                              str(tmp_path / "access.log")))
        validate(path)

    @pytest.mark.parametrize(("change", "message"), [
        ({"HOTGIGS_PROXY_SECRET": ""}, "HOTGIGS_PROXY_SECRET is required in production"),
        ({"HOTGIGS_PROXY_SECRET": "short"}, "HOTGIGS_PROXY_SECRET is too short"),
        ({"CORS_ORIGINS": "javascript:alert(1)"}, "is not an origin"),
        ({"HOTGIGS_XFF_TRUSTED_HOPS": "99"}, "HOTGIGS_XFF_TRUSTED_HOPS='99': must be between 0 and 10"),
        ({"HOTGIGS_ENVOY_MAX_HEAP_MB": "lots"}, "expected a whole number"),
        ({"HOTGIGS_ENV": "prod"}, "HOTGIGS_ENV='prod': expected one of"),
        ({"OTEL_TRACES_SAMPLER_ARG": "1.5"}, "OTEL_TRACES_SAMPLER_ARG=1.5: must be at most 1"),
        ({"OTEL_SERVICE_NAME": "edge name; rm"}, "OTEL_SERVICE_NAME='edge name; rm': expected 1-63"),
    ])
    def test_bad_edge_settings_are_refused_by_name(self, change: dict[str, str], message: str) -> None:
        """Every edge setting is checked as in the full settings: exit 2, the variable named,
        no traceback, no configuration printed."""
        result = self.run({**self.EDGE_ENV, **change})
        assert result.returncode == 2, result.stdout[-500:]
        assert message in result.stderr and "Traceback" not in result.stderr
        assert result.stdout == ""

    def test_edge_settings_match_the_full_settings(self) -> None:
        """With every variable set, the edge's reduced settings equal the full settings' values
        for every field they share, so a worker host and a pure edge render the same Envoy."""
        env = {**self.EDGE_ENV, "JWT_SECRET_KEY": "k" * 40, "DATABASE_URL": "postgresql://h/db",
               "HOTGIGS_ENCRYPTION_KEKS": TEST_KEKS_ENV,
               "CACHE_REDIS_URL": "redis://h:6379/0", "HOTGIGS_GRPC_ADDRESS": "10.0.0.5:50051",
               "HOTGIGS_ENVOY_HEALTH_CHECK_INTERVAL_SECONDS": "0.5", "HOTGIGS_MAX_CONCURRENT_RPCS": "32",
               "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_TRACES_SAMPLER_ARG": "0.1",
               "HOTGIGS_REQUEST_TIMEOUT_SECONDS": "12", "HOTGIGS_ENVOY_MAX_CONNECTIONS": "500"}
        edge, full = EdgeSettings.from_env(env), Settings.from_env(env)
        # OTEL_SERVICE_NAME names the process whose file sets it: Envoy (hotgigs-envoy) by default
        # on an edge, a worker (hotgigs-api) in the full settings; both read it the same way.
        own = {"otel_service_name"}
        for field in dataclasses.fields(EdgeSettings):
            if field.name not in own:
                assert getattr(edge, field.name) == getattr(full, field.name), field.name
        named = {**env, "OTEL_SERVICE_NAME": "shop-edge"}
        assert EdgeSettings.from_env(named).otel_service_name == "shop-edge"
        assert Settings.from_env(named).otel_service_name == "shop-edge"
        unset = EdgeSettings.from_env({})  # the defaults are the full settings' defaults
        assert unset == dataclasses.replace(EdgeSettings(), proxy_secret=unset.proxy_secret)
        assert (unset.otel_service_name, Settings().otel_service_name) == ("hotgigs-envoy", "hotgigs-api")
        full_defaults = Settings.from_env({})
        for field in dataclasses.fields(EdgeSettings):
            if field.name not in {"proxy_secret", *own}:
                assert getattr(unset, field.name) == getattr(full_defaults, field.name), field.name
