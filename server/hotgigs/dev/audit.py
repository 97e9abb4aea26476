"""`make audit`: pip-audit over the locked dependencies (everything installed in the virtual
environment from the pinned pyproject.toml, transitive ones included).

Known vulnerabilities fail the run (exit 1). When the advisory service cannot be reached, or
answers for none of the packages (a mirror without PyPI's JSON API), it says so clearly,
"dependencies NOT audited: <reason>", and exits 0: an unreachable index must not block tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TIMEOUT_SECONDS = 300


@dataclasses.dataclass(frozen=True)
class Outcome:
    exit_code: int
    lines: list[str]


def locked_requirements() -> list[str]:
    """`name==version` of every installed distribution except the project itself."""
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout
    return [line for line in frozen.splitlines()
            if "==" in line and not line.startswith(("-e", "#")) and "hotgigs" not in line]


def judge(report: dict[str, Any] | None, failure: str = "") -> Outcome:
    """Turn pip-audit's JSON report (None when it produced none) into what to print and the
    exit code."""
    if report is None:
        return Outcome(0, [f"dependencies NOT audited: {failure or 'pip-audit gave no report'}"])
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = [d for d in dependencies if not d.get("skip_reason")]
    if not audited:
        reason = skipped[0]["skip_reason"] if skipped else "no dependencies found"
        return Outcome(0, [f"dependencies NOT audited: {reason} (and {len(skipped) - 1} more)"
                           if len(skipped) > 1 else f"dependencies NOT audited: {reason}"])
    lines = []
    vulnerable = [d for d in audited if d.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            lines.append(f"VULNERABLE {dependency['name']} {dependency.get('version', '')}: "
                         f"{vuln.get('id')} (fixed in {fixes})")
    if skipped:
        lines.append(f"{len(skipped)} dependencies NOT audited: "
                     + ", ".join(d["name"] for d in skipped))
    lines.append(f"audited {len(audited)} dependencies: "
                 + (f"{len(vulnerable)} with known vulnerabilities" if vulnerable
                    else "no known vulnerabilities"))
    return Outcome(1 if vulnerable else 0, lines)


def run(requirements: Sequence[str], *, timeout: float = TIMEOUT_SECONDS) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="hotgigs-audit-") as folder:
        listing, output = Path(folder) / "requirements.txt", Path(folder) / "report.json"
        listing.write_text("\n".join(requirements) + "\n")
        command = [sys.executable, "-m", "pip_audit", "--requirement", str(listing), "--no-deps",
                   "--disable-pip", "--progress-spinner", "off", "--format", "json",
                   "--output", str(output), "--cache-dir", str(Path(folder) / "cache")]
        try:
            result = subprocess.run(command, capture_output=True, text=True,  # noqa: S603 - our interpreter, our arguments
                                    timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return judge(None, f"pip-audit did not finish within {timeout:.0f} s")
        try:
            report = json.loads(output.read_text())
        except (OSError, ValueError):
            errors = [line for line in result.stderr.splitlines() if line.strip()]
            return judge(None, errors[-1][:300] if errors else f"pip-audit exited {result.returncode}")
        return judge(report)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotgigs.dev.audit", description=__doc__)
    parser.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS)
    args = parser.parse_args(argv)
    outcome = run(locked_requirements(), timeout=args.timeout)
    for line in outcome.lines:
        print(line)
    return outcome.exit_code


if __name__ == "__main__":
    sys.exit(main())
