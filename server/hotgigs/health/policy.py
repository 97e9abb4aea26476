"""The RPCs of `hotgigs.v1.HealthService`: open to probes, never rate-limited."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import PROBE, Rpc

SERVICE: Final = "HealthService"
RPCS: Final = {
    "GetHealth": Rpc(PROBE),
}
