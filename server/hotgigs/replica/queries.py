"""The WAL positions the replica router compares: the primary's and the standby's.

Positions are byte offsets (`pg_lsn - '0/0'`), so Python compares plain integers.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

_PRIMARY_POSITION = sa.text("SELECT pg_current_wal_lsn() - '0/0'")
_STANDBY_POSITION = sa.text(
    "SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn() - '0/0', "
    "pg_last_wal_replay_lsn() - '0/0'")


@dataclasses.dataclass(frozen=True)
class StandbyPosition:
    """Where a standby is: whether it is still one (in recovery), the WAL it received from the
    primary and the WAL it replayed (what its queries see); None when it has none."""

    in_recovery: bool
    received: int | None
    replayed: int | None


def primary_position(connection: sa.Connection) -> int:
    """The primary's current WAL write position: every transaction committed before this
    call ends at or before it."""
    return int(connection.execute(_PRIMARY_POSITION).scalar_one())


def standby_position(connection: sa.Connection) -> StandbyPosition:
    in_recovery, received, replayed = connection.execute(_STANDBY_POSITION).one()
    return StandbyPosition(bool(in_recovery), None if received is None else int(received),
                           None if replayed is None else int(replayed))
