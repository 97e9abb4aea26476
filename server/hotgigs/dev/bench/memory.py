"""Resident memory of the `hotgigs serve` worker processes this process started (Linux /proc)."""

from __future__ import annotations

import os
from pathlib import Path


def status_kib(pid: str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def worker_pids(parent: int | None = None) -> list[str]:
    """Children of `parent` (default: this process) running `hotgigs.cli serve`."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"hotgigs.cli" in command and b"serve" in command:
            found.append(entry.name)
    return found


def workers_peak_rss_mb(parent: int | None = None) -> float:
    """Sum over the workers of their peak resident set (VmHWM), in MB."""
    total = 0
    for pid in worker_pids(parent):
        try:
            total += status_kib(pid, "VmHWM")
        except OSError:
            continue
    return total / 1024
