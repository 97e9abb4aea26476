"""The systemd units of deploy/: hardened, drained on stop, restarted on failure."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

UNITS = sorted((Path(__file__).resolve().parents[2] / "deploy" / "systemd").glob("*.service"))
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
             "PrivateTmp": "yes", "Restart": "on-failure", "User": "hotgigs"}


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
