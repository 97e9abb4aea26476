"""Alertmanager: the configuration is valid (amtool check-config), every alert reaches the
receiver of its severity (amtool config routes test), inhibition works in a real Alertmanager,
and end to end (real Prometheus, Alertmanager, aiosmtpd and a webhook server on loopback) the
watchdog reaches the dead man's switch repeatedly and a page arrives by e-mail and webhook."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from hotgigs.dev import alertmanager_local, prometheus_local
from hotgigs.dev.embedded import free_port
from hotgigs.settings import Settings
from tests.support.servers import MailBox

PROMETHEUS = Path(__file__).resolve().parents[2] / "observability" / "prometheus"
RECEIVER_OF_SEVERITY = {"page": "page", "ticket": "ticket"}


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("amtool")
    assert binary, "amtool missing: `make setup` installs the prometheus-alertmanager package"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)


def write_config(folder: Path, **variables: object) -> Path:
    path = folder / "alertmanager.yml"
    path.write_text(alertmanager_local.render(variables))
    return path


def alert_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for path in sorted((PROMETHEUS / "alerts").glob("*.alerts.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [rule for rule in group["rules"] if "alert" in rule]
    return rules


@pytest.mark.parametrize("variables", [
    {},
    {"alertmanager__smtp_username": "alerts", "alertmanager__smtp_password": "s3cret",
     "alertmanager__webhook_url": "https://chat.example/hooks/hotgigs"},
])
def test_config_is_valid(tmp_path: Path, variables: dict[str, object]) -> None:
    result = amtool("check-config", str(write_config(tmp_path, **variables)))
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def test_every_alert_reaches_the_receiver_of_its_severity(tmp_path: Path) -> None:
    config = str(write_config(tmp_path, alertmanager__webhook_url="http://127.0.0.1:9/hook"))
    cases = [(rule["alert"], rule["labels"]["severity"],
              "deadmansswitch" if rule["alert"] == "Watchdog"
              else RECEIVER_OF_SEVERITY[rule["labels"]["severity"]]) for rule in alert_rules()]
    cases.append(("SomethingNew", "unknown", "ticket"))  # no severity rule: a ticket
    assert {"page", "ticket", "deadmansswitch"} <= {receiver for *_, receiver in cases}
    for alertname, severity, receiver in cases:
        result = amtool("config", "routes", "test", f"--config.file={config}",
                        f"--verify.receivers={receiver}", f"alertname={alertname}",
                        f"severity={severity}", "job=hotgigs-api")
        assert result.returncode == 0, (alertname, result.stdout, result.stderr)
        assert result.stdout.split() == [receiver], (alertname, result.stdout)


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The routing check above can fail: a page does not go to the ticket receiver."""
    result = amtool("config", "routes", "test", f"--config.file={write_config(tmp_path)}",
                    "--verify.receivers=ticket", "alertname=HotgigsTargetDown", "severity=page")
    assert result.returncode != 0


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    with alertmanager_local.run(alertmanager_local.render(), tmp_path / "am", free_port()) as url:
        yield url


def post_alerts(alertmanager: str, *alerts: dict[str, str]) -> None:
    body = [{"labels": labels, "annotations": {"summary": "test"}} for labels in alerts]
    response = httpx.post(f"{alertmanager}/api/v2/alerts", json=body, timeout=10)
    assert response.status_code == 200, response.text


def wait_until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_target_down_and_database_down_inhibit_error_ratio_alerts(alertmanager: str) -> None:
    post_alerts(alertmanager,
                {"alertname": "HotgigsHighErrorRatio", "severity": "page", "job": "hotgigs-api",
                 "grpc_service": "hotgigs.v1.JobService"},
                {"alertname": "HotgigsErrorBudgetBurnFast", "severity": "page",
                 "job": "hotgigs-envoy", "grpc_service": "rest"})

    def states() -> dict[tuple[str, str], str]:
        alerts = httpx.get(f"{alertmanager}/api/v2/alerts", timeout=10).json()
        return {(a["labels"]["alertname"], a["labels"]["job"]): a["status"]["state"]
                for a in alerts}

    assert wait_until(lambda: len(states()) == 2)
    assert set(states().values()) == {"active"}
    post_alerts(alertmanager, {"alertname": "HotgigsTargetDown", "severity": "page",
                               "job": "hotgigs-api", "instance": "127.0.0.1:9464"})
    expected = {("HotgigsHighErrorRatio", "hotgigs-api"): "suppressed",
                ("HotgigsErrorBudgetBurnFast", "hotgigs-envoy"): "active",  # another job
                ("HotgigsTargetDown", "hotgigs-api"): "active"}
    assert wait_until(lambda: states() == expected), states()
    post_alerts(alertmanager, {"alertname": "HotgigsPostgresqlDown", "severity": "page",
                               "job": "postgresql", "instance": "10.0.0.3:9187"})
    expected.update({("HotgigsErrorBudgetBurnFast", "hotgigs-envoy"): "suppressed",
                     ("HotgigsPostgresqlDown", "postgresql"): "active"})
    assert wait_until(lambda: states() == expected), states()


class Webhook:
    """A webhook receiver on loopback keeping every notification (path -> payloads)."""

    def __init__(self) -> None:
        self.calls: dict[str, list[dict[str, Any]]] = {}
        self.times: dict[str, list[float]] = {}  # when each call came (monotonic)
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                with hook.lock:
                    hook.calls.setdefault(self.path, []).append(body)
                    hook.times.setdefault(self.path, []).append(time.monotonic())
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.calls.get(path, []))


def test_watchdog_and_a_page_arrive_end_to_end(tmp_path: Path, settings: Settings,
                                               mailbox: MailBox) -> None:
    webhook = Webhook()
    variables = {**alertmanager_local.smtp_variables(settings),
                 "alertmanager__webhook_url": f"{webhook.url}/hook",
                 "alertmanager__deadmansswitch_url": f"{webhook.url}/deadmansswitch",
                 "alertmanager__group_wait": "1s", "alertmanager__watchdog_interval": "3s",
                 "alertmanager__page_email": "oncall-e2e@hotgigs.local"}
    runbook = "https://runbooks.example/hotgigs/runbook.md"
    dead = f"127.0.0.1:{free_port()}"  # nothing listens: the targets are down (not yet alerting)
    try:
        with alertmanager_local.run(alertmanager_local.render(variables), tmp_path / "am",
                                    free_port()) as am_url, \
                prometheus_local.run({"hotgigs-api": dead, "hotgigs-envoy": dead},
                                     tmp_path / "prometheus", free_port(), interval="1s",
                                     runbook_url=runbook,
                                     alertmanager=am_url.removeprefix("http://")):
            # Prometheus -> Alertmanager -> dead man's switch, again and again, once per
            # interval (3 s), not every other one (6 s: repeat_interval equal to the tick)
            beats = wait_until(lambda: len(webhook.received("/deadmansswitch")) >= 4, 60)
            assert beats, "the watchdog did not reach the dead man's switch four times"
            with webhook.lock:
                times = list(webhook.times["/deadmansswitch"])
            gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
            assert max(gaps) < 4.5, gaps
            alert = webhook.received("/deadmansswitch")[0]["alerts"][0]
            assert alert["labels"]["alertname"] == "Watchdog"
            assert alert["annotations"]["runbook_url"] == f"{runbook}#watchdog"
            assert webhook.received("/hook") == []  # the watchdog goes nowhere else
            # a page: e-mail through the app's SMTP settings, and the webhook
            post_alerts(am_url, {"alertname": "HotgigsPostgresqlDown", "severity": "page",
                                 "job": "postgresql", "instance": "10.0.0.3:9187"})
            mail = mailbox.wait_for("oncall-e2e@hotgigs.local", timeout=30)[0]
            assert "HotgigsPostgresqlDown" in mail["Subject"]
            hooks = wait_until(lambda: webhook.received("/hook"), 30)
            assert hooks and hooks[0]["receiver"] == "page"
            assert hooks[0]["alerts"][0]["labels"]["alertname"] == "HotgigsPostgresqlDown"
    finally:
        webhook.server.shutdown()
        webhook.server.server_close()
