"""Prometheus config, recording rules and alerts: validated by promtool, each alert shown
firing and not firing by promtool unit tests, each with a runbook section."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
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


# Always firing by design (the dead man's switch): tested firing only.
ALWAYS_FIRING = {"Watchdog"}


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    tested: dict[str, set[bool]] = {}
    for path in (PROMETHEUS / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                tested.setdefault(check["alertname"], set()).add(bool(check["exp_alerts"]))
    for rule in alerts():
        name = str(rule["alert"])
        assert tested.get(name) == ({True} if name in ALWAYS_FIRING else {True, False}), name


@pytest.mark.parametrize(("tests", "alerts_file"), [("infrastructure-test.yml", "infrastructure.alerts.yml"),
                                                    ("data-test.yml", "data.alerts.yml")])
def test_exporter_alerts_are_tested_on_both_sides_of_for(tests: str, alerts_file: str) -> None:
    """Each exporter alert's 'not firing' check comes after its condition holds (pending),
    less than `for:` before the 'firing' check: the for: duration itself is what is tested."""
    cases = yaml.safe_load((PROMETHEUS / "tests" / tests).read_text())
    checks: dict[tuple[str, bool], list[int]] = {}
    for case in cases["tests"]:
        for check in case["alert_rule_test"]:
            key = (check["alertname"], bool(check["exp_alerts"]))
            checks.setdefault(key, []).append(minutes(check["eval_time"]))
    for group in yaml.safe_load((PROMETHEUS / "alerts" / alerts_file).read_text())["groups"]:
        for rule in group["rules"]:
            gaps = [firing - quiet for quiet in checks[(rule["alert"], False)]
                    for firing in checks[(rule["alert"], True)]]
            assert any(0 < gap <= minutes(rule["for"]) for gap in gaps), rule["alert"]


def minutes(duration: str) -> int:
    """Minutes in a Prometheus duration of hours and minutes (e.g. 26h5m)."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?", duration)
    assert parts is not None and duration, duration
    return int(parts.group(1) or 0) * 60 + int(parts.group(2) or 0)


def test_every_alert_has_severity_summary_and_a_runbook_section() -> None:
    runbook = (ROOT / "runbook.md").read_text()
    sections = set(re.findall(r"^## (\w+)$", runbook, re.MULTILINE))
    for rule in alerts():
        name = str(rule["alert"])
        labels = rule["labels"]
        annotations = rule["annotations"]
        expected = ("none",) if name in ALWAYS_FIRING else ("page", "ticket")
        assert isinstance(labels, dict) and labels["severity"] in expected
        assert isinstance(annotations, dict) and annotations["summary"]
        # absolute: the external label runbook_url (where the runbook is published) + section
        assert annotations["runbook_url"] == f"{{{{ $externalLabels.runbook_url }}}}#{name.lower()}"
        assert name in sections


def test_rules_use_only_the_scraped_job_names() -> None:
    jobs = {job["job_name"] for name in ("prometheus.yml", "prometheus.deploy.yml")
            for job in yaml.safe_load((PROMETHEUS / name).read_text())["scrape_configs"]}
    text = "\n".join(p.read_text() for p in PROMETHEUS.glob("*/*.yml") if p.parent.name != "tests")
    used = set(re.findall(r'job="([^"]+)"', text))
    used |= {name for group in re.findall(r'job=~"([^"]+)"', text) for name in group.split("|")}
    assert used <= jobs, used - jobs


def test_long_windows_read_recorded_rates_not_raw_counters() -> None:
    """A range over 6 hours reads only recorded series (names with a colon), never raw
    counters; those rules run in a 5-minute group."""
    for path in (PROMETHEUS / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                for selector, window in re.findall(r"([\w:]+)(?:\{[^}]*\})?\[(\d+[dh])\]",
                                                   rule["expr"]):
                    if window.endswith("d") or int(window[:-1]) > 6:
                        assert ":" in selector, (rule.get("record"), selector, window)
                        assert group.get("interval") == "5m", group["name"]


def test_retention_covers_the_30_day_budget() -> None:
    """The deployed Prometheus keeps 35 days (30-day windows + margin); stated in the config."""
    text = (PROMETHEUS / "prometheus.deploy.yml").read_text()
    assert "--storage.tsdb.retention.time=35d" in text
