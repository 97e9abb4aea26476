"""The live feed through the real Envoy outlives the route timeout every other route has: its
route has none (and no deadline for the worker), only an idle timeout above the heartbeat."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from hotgigs.grpc_server.server import GrpcServer
from hotgigs.notifications.servicer import HEARTBEAT_SECONDS
from hotgigs.settings import Settings
from http_bridge.envoy_config import LIVE_FEED_METHOD
from tests import factories
from tests.support.rest import LiveFeed, apply, register
from tests.support.servers import RunningEnvoy, start_envoy

ROUTE_TIMEOUT = 2.0  # this Envoy's HOTGIGS_REQUEST_TIMEOUT_SECONDS: every other route's timeout


@pytest.fixture(scope="module")
def short_envoy(settings: Settings, grpc_server: GrpcServer,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEnvoy]:
    local = dataclasses.replace(settings, request_timeout_seconds=ROUTE_TIMEOUT)
    with start_envoy(local, grpc_server.port, tmp_path_factory.mktemp("feed-envoy")) as running:
        yield running


def feed_route(config_path: Path) -> dict[str, Any]:
    config = yaml.safe_load(config_path.read_text())
    manager = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    routes = manager["typed_config"]["route_config"]["virtual_hosts"][0]["routes"]
    route: dict[str, Any] = next(r for r in routes if r["match"].get("path") == LIVE_FEED_METHOD)
    return route


def test_feed_route_has_no_timeout_and_an_idle_timeout_above_the_heartbeat(
        short_envoy: RunningEnvoy) -> None:
    route = feed_route(short_envoy.config_path)
    assert route["route"]["timeout"] == "0s"
    assert float(route["route"]["idle_timeout"].rstrip("s")) > 2 * HEARTBEAT_SECONDS
    assert "request_headers_to_add" not in route  # no grpc-timeout: the worker sets no deadline


def test_the_feed_stays_open_past_the_route_timeout(rest: httpx.Client,
                                                    short_envoy: RunningEnvoy) -> None:
    """An event sent after twice the route timeout still arrives on the open stream (before,
    Envoy ended the feed at the route timeout and the worker at the grpc-timeout deadline)."""
    owner, job = factories.owner_with_job(rest, company_name="Notify Co")
    listener = LiveFeed(short_envoy.base_url, owner)
    events = listener.events
    assert listener.connected.wait(10), "no heartbeat from the stream"
    time.sleep(2 * ROUTE_TIMEOUT)  # outlive the route timeout (not a timed assertion)
    apply(rest, register(rest, "candidate"), job["id"])
    listener.join(10)
    assert [event["event"] for event in events] == ["heartbeat", "created"], events
