"""cgroup folders of our own for nspawn, so nothing it leaves behind outlives the run.

With `--keep-unit` (there is no systemd on the host to ask for a scope) nspawn creates
`payload/` and `supervisor/` below the cgroup it was started in; starting it in a folder of
ours lets teardown remove the whole subtree.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# The hierarchies nspawn uses on a hybrid (v1 + v2) host like Debian 12 without systemd.
HIERARCHIES = (Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/unified"))


def create(name: str) -> list[Path]:
    """Make `name` in every hierarchy that is mounted; the folders made."""
    made = []
    for hierarchy in HIERARCHIES:
        if (hierarchy / "cgroup.procs").exists():
            folder = hierarchy / name
            folder.mkdir(exist_ok=True)
            made.append(folder)
    return made


def enter_command(folders: list[Path]) -> list[str]:
    """A prefix that moves the command into `folders` before it runs (`sh -c ... exec "$@"`)."""
    moves = "".join(f'echo $$ > "{folder}/cgroup.procs"; ' for folder in folders)
    return ["sh", "-c", moves + 'exec "$@"', "sh"]


def remove(folders: list[Path]) -> None:
    """Remove the folders and everything below them, deepest first (they must be empty of tasks)."""
    for folder in folders:
        if not folder.exists():
            continue
        for path, _dirs, _files in sorted(os.walk(folder), key=lambda item: -item[0].count("/")):
            with contextlib.suppress(OSError):
                Path(path).rmdir()
