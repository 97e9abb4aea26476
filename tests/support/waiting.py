"""Waiting for what another thread, process or worker does (never a timed assertion: the
patience only turns a hang into a failure)."""

from __future__ import annotations

import time
from collections.abc import Callable

PATIENCE = 60.0  # far above any bound a test checks: only a hang fails, never a slow machine


def eventually(probe: Callable[[], bool]) -> None:
    """Poll `probe` until it is true; fail if it never is within PATIENCE."""
    deadline = time.monotonic() + PATIENCE
    while not probe():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.2)
