"""The systemd units of deploy/: hardened, drained on stop, restarted on failure."""

from __future__ import annotations

import configparser
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from hotgigs.settings import Settings

UNITS = sorted((Path(__file__).resolve().parents[2] / "deploy" / "systemd").glob("*.service"))
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
             "PrivateTmp": "yes", "Restart": "on-failure", "ProtectProc": "invisible",
             "RestrictNamespaces": "yes", "ProtectClock": "yes", "ProtectKernelLogs": "yes",
             "UMask": "0027", "LimitNOFILE": "65536"}
USERS = {"hotgigs-api@.service": "hotgigs", "hotgigs-envoy.service": "hotgigs-envoy"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_unit_is_hardened_and_drains(unit: Path) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(unit)
    service = parser["Service"]
    for key, value in HARDENING.items():
        assert service.get(key) == value, (unit.name, key)
    assert service.get("KillSignal") == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 15, "time to drain in-flight requests"
    assert service.get("CapabilityBoundingSet") == ""
    assert service.get("User") == USERS[unit.name]
    assert service.get("MemoryMax") and service.get("TasksMax"), unit.name
    assert parser["Install"]["WantedBy"] == "multi-user.target"


def test_there_are_units_for_workers_and_envoy() -> None:
    assert {u.name for u in UNITS} == {"hotgigs-api@.service", "hotgigs-envoy.service"}


def test_worker_stop_timeout_covers_the_drain_sequence() -> None:
    """systemd must wait for the whole drain (NOT_SERVING for the drain delay, then the grace
    for in-flight RPCs) before it kills a worker, or a rolling restart would cut requests."""
    from hotgigs.settings import Settings

    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "hotgigs-api@.service")
    defaults = Settings()
    drain = defaults.drain_delay_seconds + defaults.shutdown_grace_seconds
    assert int(parser["Service"]["TimeoutStopSec"]) > drain + 5


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (systemd)")
@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_exposure_is_at_most_2(unit: Path) -> None:
    """`systemd-analyze security --offline` on the unit file: 2.0 or below (4.2 and 4.5 before
    issue 13's hardening). The deploy test checks the installed units on a host too."""
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
                            capture_output=True, text=True, timeout=60, check=False)
    line = result.stdout.strip().splitlines()[-1]
    level = float(line.split(":")[1].split()[0])
    assert level <= 2.0, line


def _service(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(Path(__file__).resolve().parents[2] / "deploy" / "systemd" / name)
    return parser["Service"]


def test_envoy_may_generate_code_for_its_lua_filter() -> None:
    """Envoy's Lua filter runs on LuaJIT, which writes machine code for hot paths: with
    MemoryDenyWriteExecute Envoy panicked ("runtime code generation failed, restricted kernel?")
    after a few hundred requests on the test host, and the edge answered 5xx."""
    from http_bridge import envoy_config

    options = envoy_config.EnvoyOptions(
        listen_host="127.0.0.1", listen_port=8080, admin_host="127.0.0.1", admin_port=9901,
        upstreams=[("127.0.0.1", 50051)], descriptor_path=Path("hotgigs.pb"),
        services=["hotgigs.v1.JobService"])
    assert "envoy.filters.http.lua" in json.dumps(envoy_config.render(options))
    assert _service("hotgigs-envoy.service").get("MemoryDenyWriteExecute", "no") == "no"


def test_worker_tasks_max_leaves_room_for_its_threads() -> None:
    """TasksMax of a worker is above the threads its default settings start: the gRPC pool,
    the database pool at its overflow, and a margin for the document parser child and the
    server's own threads (a worker at the limit could not start a thread or a child)."""
    defaults = Settings()
    threads = defaults.grpc_max_workers + defaults.db_pool_size + defaults.db_max_overflow
    assert int(_service("hotgigs-api@.service")["TasksMax"]) >= 4 * threads
