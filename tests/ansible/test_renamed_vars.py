"""Role-prefixed variable names (nginx__tls_mode, ...): an old name still works until release
0.2.0 and is warned about on every run that sets it; the committed inventories and the deploy
test use only the new names.

Runs the nginx role's warning (tasks/renamed.yml) on localhost and renders the values the roles
read (nginx, observability, verify): nothing is installed, nothing connects anywhere.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = ROOT / "ansible"
RENAMED: dict[str, str] = yaml.safe_load(
    (ANSIBLE / "roles" / "nginx" / "defaults" / "main.yml").read_text())["nginx__renamed_vars"]
SHOWN = ("nginx__tls_mode", "nginx__tls_certificate_file", "nginx__tls_key_file", "verify__ca_file",
         "observability__probe_ca_file")


def _run(tmp_path: Path, variables: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The values the roles read, and the run's warnings, with `variables` in the inventory."""
    inventory = {"all": {"hosts": {"edge1": {"ansible_connection": "local",
                                             "ansible_python_interpreter": sys.executable}},
                         "vars": {"hotgigs_domain": "hotgigs.example", **variables}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{
        "name": "Renamed variables", "hosts": "all", "gather_facts": False,
        "roles": [{"role": role, "when": False} for role in ("observability", "verify")],
        "tasks": [
            {"name": "Warn", "ansible.builtin.import_role": {"name": "nginx", "tasks_from": "renamed"}},
            {"name": "Show", "ansible.builtin.debug": {"msg": {name: f"{{{{ {name} }}}}" for name in SHOWN}}},
        ]}]))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
         str(tmp_path / "play.yml")],
        capture_output=True, text=True, check=False, timeout=120, cwd=ANSIBLE,
        env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_NOCOLOR": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    tasks = json.loads(result.stdout)["plays"][0]["tasks"]
    warnings = tasks[-2]["hosts"]["edge1"].get("warnings", [])
    return tasks[-1]["hosts"]["edge1"]["msg"], warnings


def test_an_old_name_still_works_and_is_warned_about(tmp_path: Path) -> None:
    """nginx_tls_mode / nginx_tls_certificate_file / nginx_tls_key_file set: the roles read
    their values (the verify and observability roles too), with one warning per old name that
    names the new one and the release that drops it."""
    values, warnings = _run(tmp_path, {"nginx_tls_mode": "self_signed",
                                       "nginx_tls_certificate_file": "/srv/chain.pem",
                                       "nginx_tls_key_file": "/srv/key.pem"})
    assert values["nginx__tls_mode"] == "self_signed"
    assert values["nginx__tls_certificate_file"] == "/srv/chain.pem"
    assert values["nginx__tls_key_file"] == "/srv/key.pem"
    assert values["verify__ca_file"] == "/etc/hotgigs/tls/tls.crt"  # what self_signed means for verify
    assert values["observability__probe_ca_file"] != ""
    assert sorted(warnings) == sorted(
        f"Variable {old} is renamed {new}: set {new} instead (the old name still works, until "
        "release 0.2.0)" for old, new in RENAMED.items())


@pytest.mark.parametrize("old", [{}, {"nginx_tls_mode": "provided"}])
def test_the_new_name_wins_and_alone_warns_nothing(tmp_path: Path, old: dict[str, str]) -> None:
    """With the new name set, its value is read even when the old one is also set (which alone
    is warned about); with only new names, no warning."""
    values, warnings = _run(tmp_path, {"nginx__tls_mode": "self_signed", **old})
    assert values["nginx__tls_mode"] == "self_signed"
    assert values["verify__ca_file"] == "/etc/hotgigs/tls/tls.crt"
    assert [w.split()[1] for w in warnings] == list(old)


def test_defaults_without_any_name_are_acme(tmp_path: Path) -> None:
    values, warnings = _run(tmp_path, {})
    assert values["nginx__tls_mode"] == "acme" and values["verify__ca_file"] == ""
    assert warnings == []


def test_inventories_roles_and_the_deploy_test_use_only_the_new_names() -> None:
    """Outside the compatibility defaults (and their warning), no file sets or reads an old name."""
    old = re.compile(r"\b(" + "|".join(map(re.escape, RENAMED)) + r")\b")
    allowed = {ANSIBLE / "roles" / "nginx" / "defaults" / "main.yml",
               ANSIBLE / "roles" / "observability" / "defaults" / "main.yml",
               ANSIBLE / "roles" / "observability" / "tasks" / "main.yml",
               ANSIBLE / "roles" / "verify" / "defaults" / "main.yml"}
    files = [*(ANSIBLE / "roles").rglob("*.yml"), *(ANSIBLE / "playbooks").rglob("*.yml"),
             *(ANSIBLE / "inventories").rglob("*.yml"), *(ROOT / "tests" / "deploy").rglob("*.py")]
    found = [f"{path.relative_to(ROOT)}: {line.strip()}" for path in files if path not in allowed
             for line in path.read_text().splitlines() if old.search(line)]
    assert found == []
    for path in allowed - {ANSIBLE / "roles" / "nginx" / "defaults" / "main.yml"}:
        for line in path.read_text().splitlines():  # only as the new name's fallback
            for match in old.finditer(line):
                assert f"default({match.group(1)} | default(" in line, (path, line)
