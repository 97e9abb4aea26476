"""What a module's servicer may be built from: one object passed to every `servicer.build`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the kernel imports no server code at run time
    from hotgigs.cache import Cache
    from hotgigs.db import Database, Reads
    from hotgigs.grpc_server.server import Security
    from hotgigs.health.monitor import HealthStatuses
    from hotgigs.replica.router import ReadReplica
    from hotgigs.settings import Settings


@dataclasses.dataclass(frozen=True)
class Components:
    """The running process's shared parts."""

    settings: Settings
    database: Database
    cache: Cache
    security: Security
    health: HealthStatuses  # the grpc.health.v1 statuses the server keeps per service
    replica: ReadReplica | None = None  # DATABASE_REPLICA_URL's router, when set

    @property
    def reads(self) -> Reads:
        """Where read-only work that may go to the read replica runs (the primary without one)."""
        return self.replica if self.replica is not None else self.database
