"""The machine's ceiling for this path: an Envoy that answers every request itself."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from http_bridge import envoy_config
from http_bridge.envoy_process import EnvoyProcess, validate


def config(port: int, admin_port: int) -> dict[str, object]:
    """A listener whose only route is a direct response, the same JSON as /api/health's size."""
    manager = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {"listeners": [{
            "name": "ceiling",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": f"type.googleapis.com/{manager}",
                    "stat_prefix": "ceiling",
                    "route_config": {"virtual_hosts": [{
                        "name": "all", "domains": ["*"],
                        "routes": [{"match": {"prefix": "/"}, "direct_response": {
                            "status": 200,
                            "body": {"inline_string": '{"status":"healthy","ceiling":true}'}}}]}]},
                    "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
                }}]}]}]},
    }


@contextlib.contextmanager
def direct_response_envoy(folder: Path, port: int, admin_port: int) -> Iterator[str]:
    """Run it; yield its base URL."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ceiling.yaml"
    path.write_text(envoy_config.to_yaml(config(port, admin_port)))
    validate(path)
    process = EnvoyProcess(path, admin_url=f"http://127.0.0.1:{admin_port}", base_id=port,
                           log_path=folder / "ceiling.log")
    process.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()
