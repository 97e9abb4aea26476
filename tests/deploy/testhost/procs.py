"""Running host commands with a log, and progress lines while a long step runs."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

PROGRESS_EVERY_SECONDS = 15.0


def say(message: str) -> None:
    """One progress line on stderr (pytest -s and make show it)."""
    print(f"[testhost] {message}", file=sys.stderr, flush=True)


def run(cmd: Sequence[str], *, step: str, log: Path, timeout: float = 1800.0,
        input_text: str | None = None) -> None:
    """Run `cmd` with its output appended to `log`; say how long it has run every 15 s.

    Raises RuntimeError naming the step and the end of the log when it fails.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    say(f"{step} ...")
    with log.open("ab") as out:
        out.write(f"\n$ {shlex.join(cmd)}\n".encode())
        out.flush()
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL)
        if input_text is not None and process.stdin is not None:
            process.stdin.write(input_text.encode())
            process.stdin.close()
        while True:
            try:
                code = process.wait(timeout=PROGRESS_EVERY_SECONDS)
                break
            except subprocess.TimeoutExpired:
                elapsed = time.monotonic() - started
                if elapsed > timeout:
                    process.kill()
                    process.wait()
                    raise RuntimeError(f"{step}: timed out after {elapsed:.0f} s (log: {log})") from None
                say(f"{step}: {elapsed:.0f} s")
    elapsed = time.monotonic() - started
    if code != 0:
        raise RuntimeError(f"{step} failed (exit {code}) after {elapsed:.0f} s:\n{tail(log)}\n(log: {log})")
    say(f"{step}: done in {elapsed:.0f} s")


def check(cmd: Sequence[str]) -> str:
    """Run a short command; its stdout, or RuntimeError with its stderr."""
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed: {result.stderr.strip()}")
    return result.stdout


def tail(log: Path, lines: int = 30) -> str:
    """The last lines of a log file."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
