"""Prometheus config, recording rules and alerts: validated by promtool, each alert shown
firing and not firing by promtool unit tests, each with a runbook section."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2] / "observability"
PROMETHEUS = ROOT / "prometheus"
PROMTOOL = shutil.which("promtool")  # Debian package prometheus, installed by `make setup`


def promtool(*args: str) -> str:
    assert PROMTOOL is not None, "promtool missing: `make setup` installs the prometheus package"
    result = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120,
                            check=False, cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def alerts() -> list[dict[str, object]]:
    rules = []
    for path in (PROMETHEUS / "alerts").glob("*.alerts.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [r for r in group["rules"] if "alert" in r]
    return rules


def test_config_and_rules_are_valid() -> None:
    promtool("check", "config", "prometheus.yml")
    promtool("check", "config", "prometheus.deploy.yml")
    files = [str(p.relative_to(PROMETHEUS)) for p in sorted(PROMETHEUS.glob("*/*.yml"))
             if p.parent.name in ("rules", "alerts")]
    promtool("check", "rules", *files)


def test_alert_unit_tests_pass() -> None:
    output = promtool("test", "rules", *[str(p.relative_to(PROMETHEUS))
                                          for p in sorted((PROMETHEUS / "tests").glob("*.yml"))])
    assert "SUCCESS" in output


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    tested: dict[str, set[bool]] = {}
    for path in (PROMETHEUS / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                tested.setdefault(check["alertname"], set()).add(bool(check["exp_alerts"]))
    for rule in alerts():
        assert tested.get(str(rule["alert"])) == {True, False}, rule["alert"]


def test_every_alert_has_severity_summary_and_a_runbook_section() -> None:
    runbook = (ROOT / "runbook.md").read_text()
    sections = set(re.findall(r"^## (\w+)$", runbook, re.MULTILINE))
    for rule in alerts():
        name = str(rule["alert"])
        labels = rule["labels"]
        annotations = rule["annotations"]
        assert isinstance(labels, dict) and labels["severity"] in ("page", "ticket")
        assert isinstance(annotations, dict) and annotations["summary"]
        assert annotations["runbook_url"] == f"observability/runbook.md#{name.lower()}"
        assert name in sections


def test_rules_use_only_the_scraped_job_names() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    text = "\n".join(p.read_text() for p in PROMETHEUS.glob("*/*.yml") if p.parent.name != "tests")
    used = set(re.findall(r'job="([^"]+)"', text))
    used |= {name for group in re.findall(r'job=~"([^"]+)"', text) for name in group.split("|")}
    assert used <= jobs, used - jobs
