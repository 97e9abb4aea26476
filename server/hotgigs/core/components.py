"""What a module's servicer may be built from: one object passed to every `servicer.build`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the kernel imports no server code at run time
    from hotgigs.cache import Cache
    from hotgigs.db import Database
    from hotgigs.grpc_server.server import Security
    from hotgigs.health.monitor import HealthStatuses
    from hotgigs.settings import Settings


@dataclasses.dataclass(frozen=True)
class Components:
    """The running process's shared parts."""

    settings: Settings
    database: Database
    cache: Cache
    security: Security
    health: HealthStatuses  # the grpc.health.v1 statuses the server keeps per service
