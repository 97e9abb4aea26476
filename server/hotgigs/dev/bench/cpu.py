"""CPU per request for each process group the bench started, read from /proc.

Only processes descended from the given roots are counted (the bench itself, and the embedded
PostgreSQL's postmaster, which pg_ctl detaches), so other work on a shared machine does not leak
into the figures. A process's time is utime + stime plus the time of its children
that ended and were reaped during the case (cutime + cstime): PostgreSQL backends that close
while a case runs are reaped by the postmaster, and a worker's document-extraction child by its
worker, so their CPU stays in their group. wrk and h2load are not counted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")

# The groups, in the order the report prints them; a process belongs to the first that matches
# its command name (comm) or command line.
GroupMatcher = Callable[[str, bytes], bool]
GROUPS: tuple[tuple[str, GroupMatcher], ...] = (
    ("workers", lambda comm, cmdline: b"hotgigs.cli" in cmdline or b"hotgigs.documents.extract" in cmdline),
    ("envoy", lambda comm, cmdline: comm == "envoy"),
    ("postgres", lambda comm, cmdline: comm == "postgres" or comm.startswith("postgres:")),
    ("redis", lambda comm, cmdline: comm.startswith("redis-server")),
    ("nginx", lambda comm, cmdline: comm == "nginx"),
    ("reference", lambda comm, cmdline: b"hotgigs.dev.bench.reference_app" in cmdline),
)
GROUP_NAMES = tuple(name for name, _ in GROUPS)


@dataclasses.dataclass(frozen=True)
class ProcessTimes:
    parent: int
    comm: str
    ticks: int  # utime + stime + cutime + cstime


def read_process(pid: int) -> ProcessTimes | None:
    """One process's parent, command name and CPU ticks; None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    # fields[0] is state (field 3 of proc(5)); utime..cstime are fields 14..17.
    return ProcessTimes(int(fields[1]), comm, sum(int(value) for value in fields[11:15]))


def postmaster_pid(pgdata: Path) -> int | None:
    """The running postmaster of a PostgreSQL data directory (first line of postmaster.pid)."""
    try:
        return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def descendants(roots: Sequence[int], table: Mapping[int, ProcessTimes]) -> set[int]:
    """The roots that are processes of `table` and everything below them."""
    children: dict[int, list[int]] = {}
    for pid, times in table.items():
        children.setdefault(times.parent, []).append(pid)
    found = {root for root in roots if root in table}
    waiting = list(roots)
    while waiting:
        for child in children.get(waiting.pop(), []):
            if child not in found:
                found.add(child)
                waiting.append(child)
    return found


def command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def snapshot(roots: Sequence[int] = (),
             groups: tuple[tuple[str, GroupMatcher], ...] = GROUPS) -> dict[str, dict[int, int]]:
    """Ticks of every process below this one and `roots` (and the roots), by group and pid."""
    table = {int(entry.name): times for entry in Path("/proc").iterdir()
             if entry.name.isdigit() and (times := read_process(int(entry.name))) is not None}
    by_group: dict[str, dict[int, int]] = {name: {} for name, _ in groups}
    for pid in descendants([os.getpid(), *roots], table) - {os.getpid()}:
        comm, cmdline = table[pid].comm, command_line(pid)
        for name, matches in groups:
            if matches(comm, cmdline):
                by_group[name][pid] = table[pid].ticks
                break
    return by_group


def seconds_used(before: Mapping[str, Mapping[int, int]],
                 after: Mapping[str, Mapping[int, int]]) -> dict[str, float]:
    """CPU seconds each group used between two snapshots. A process that started in between
    counts from zero; one that ended in between is in its reaping parent's cutime afterwards."""
    used = {}
    for name, processes in after.items():
        earlier = before.get(name, {})
        ticks = sum(max(0, value - earlier.get(pid, 0)) for pid, value in processes.items())
        used[name] = ticks / CLOCK_TICKS_PER_SECOND
    return used


@dataclasses.dataclass
class Measurement:
    """Filled in when the measured block ends."""

    seconds: dict[str, float] = dataclasses.field(default_factory=dict)

    def ms_per_request(self, requests: int) -> dict[str, float]:
        if requests <= 0:
            return dict.fromkeys(self.seconds, 0.0)
        return {name: 1000 * value / requests for name, value in self.seconds.items()}


@contextlib.contextmanager
def measure(roots: Sequence[int] = (),
            groups: tuple[tuple[str, GroupMatcher], ...] = GROUPS) -> Iterator[Measurement]:
    """CPU seconds of each group below this process and `roots` while the block runs."""
    measurement = Measurement()
    before = snapshot(roots, groups)
    yield measurement
    measurement.seconds = seconds_used(before, snapshot(roots, groups))
