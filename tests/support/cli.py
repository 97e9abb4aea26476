"""The `hotgigs` command of this virtual environment, run as a user would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HOTGIGS = shutil.which("hotgigs", path=str(Path(sys.executable).parent)) or "hotgigs"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HOTGIGS, *args], capture_output=True, text=True, timeout=60,
                          env=env, check=False)
