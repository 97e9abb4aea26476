"""Running a playbook against the test hosts, with progress, and reading its PLAY RECAP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.testhost.inventory import ANSIBLE_DIR, Inventory
from tests.deploy.testhost.procs import say

RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")


@dataclass(frozen=True)
class PlaybookRun:
    """The outcome of one ansible-playbook run."""

    returncode: int
    output: str
    seconds: float
    recap: dict[str, dict[str, int]]

    def total(self, counter: str) -> int:
        """A counter (ok, changed, failed, ...) summed over the hosts."""
        return sum(counts.get(counter, 0) for counts in self.recap.values())

    def changed_tasks(self) -> list[str]:
        """The tasks that reported a change ("changed: [host]" lines and the TASK above them)."""
        found, task = [], ""
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                task = line.split("[", 1)[1].rsplit("]", 1)[0]
            elif line.startswith("changed:"):
                found.append(f"{task}: {line}")
        return found


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """{host: {ok: n, changed: n, ...}} from the PLAY RECAP block."""
    recap: dict[str, dict[str, int]] = {}
    in_recap = False
    for line in output.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        match = RECAP_LINE.match(line.strip()) if in_recap else None
        if match:
            recap[match["host"]] = {key: int(value) for key, value in
                                    (pair.split("=") for pair in match["counts"].split())}
    return recap


def run_playbook(playbook: str, inventory: Inventory, *, log: Path, extra_args: tuple[str, ...] = (),
                 timeout: float = 1200.0) -> PlaybookRun:
    """ansible-playbook PLAYBOOK from ansible/ (its ansible.cfg); each PLAY/TASK line is said."""
    venv_bin = Path(sys.executable).parent
    env = {**os.environ, **inventory.env(), "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "False", "PYTHONUNBUFFERED": "1"}
    cmd = [str(venv_bin / "ansible-playbook"), *inventory.args(), playbook, *extra_args]
    started = time.monotonic()
    say(f"ansible-playbook {playbook} {' '.join(extra_args)} (log: {log})")
    lines: list[str] = []
    with log.open("a") as out, subprocess.Popen(cmd, cwd=ANSIBLE_DIR, env=env, text=True,
                                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as process:
        assert process.stdout is not None
        for line in process.stdout:
            out.write(line)
            lines.append(line)
            if line.startswith(("PLAY [", "TASK [", "RUNNING HANDLER [", "fatal:")):
                say(f"  {time.monotonic() - started:5.0f} s  {line.strip().rstrip('*').strip()}")
            if time.monotonic() - started > timeout:
                process.kill()
                break
        returncode = process.wait()
    output = "".join(lines)
    run = PlaybookRun(returncode=returncode, output=output, seconds=time.monotonic() - started,
                      recap=parse_recap(output))
    say(f"ansible-playbook {playbook}: exit {returncode} in {run.seconds:.0f} s, recap {run.recap}")
    return run
