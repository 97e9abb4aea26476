"""Run a local Prometheus (Debian package) against a running stack, with the project's own
scrape jobs, recording rules and alerts (observability/prometheus). Used by `hotgigs up
--observe` (`make observe`) and by the telemetry tests."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from hotgigs.dev.embedded import EmbeddedServerError, wait_for_port

OBSERVABILITY = Path(__file__).resolve().parents[3] / "observability"
# The runbook in this checkout, when no HOTGIGS_RUNBOOK_URL says where it is published.
LOCAL_RUNBOOK_URL = (OBSERVABILITY / "runbook.md").as_uri()

Targets = dict[str, "str | Sequence[str]"]


def render_config(targets: Targets, *, interval: str = "5s", runbook_url: str | None = None,
                  alertmanager: str | None = None, jobs: Sequence[dict[str, Any]] = (),
                  rule_files: Sequence[str] | None = None) -> dict[str, Any]:
    """The repository's prometheus.yml with local targets (job name -> host:port, or a list of
    them: one per worker), plus `jobs` (extra scrape jobs of prometheus.deploy.yml, e.g. node
    and redis, with their targets); alerts go to `alertmanager` (host:port) when given."""
    config: dict[str, Any] = yaml.safe_load(
        (OBSERVABILITY / "prometheus" / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": interval, "evaluation_interval": interval,
                        "external_labels": {"runbook_url": runbook_url or LOCAL_RUNBOOK_URL}}
    config["rule_files"] = [str(OBSERVABILITY / "prometheus" / pattern)
                            for pattern in config["rule_files"]] if rule_files is None else list(rule_files)
    config["scrape_configs"] = [*config["scrape_configs"], *jobs]
    for job in config["scrape_configs"]:
        found = targets[job["job_name"]]
        job["static_configs"] = [{"targets": [found] if isinstance(found, str) else list(found)}]
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return config


def local_rule_files(folder: Path) -> list[str]:
    """The repository's rules and alerts, copied with every group evaluated at the global
    interval (the long SLO windows' 5-minute groups would not run in a short local session)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in ("rules", "alerts"):
        for path in sorted((OBSERVABILITY / "prometheus" / kind).glob("*.yml")):
            content = yaml.safe_load(path.read_text())
            for group in content["groups"]:
                group.pop("interval", None)
            target = folder / f"{kind}-{path.name}"
            target.write_text(yaml.safe_dump(content, sort_keys=False))
            written.append(str(target))
    return written


def deploy_job(name: str) -> dict[str, Any]:
    """One scrape job of prometheus.deploy.yml (the exporters' jobs), without its targets."""
    config = yaml.safe_load((OBSERVABILITY / "prometheus" / "prometheus.deploy.yml").read_text())
    job: dict[str, Any] = next(j for j in config["scrape_configs"] if j["job_name"] == name)
    return {key: value for key, value in job.items() if key != "static_configs"}


@contextlib.contextmanager
def run(targets: Targets, workdir: Path, port: int, *, interval: str = "5s",
        runbook_url: str | None = None, alertmanager: str | None = None,
        jobs: Sequence[dict[str, Any]] = ()) -> Iterator[str]:
    """A started Prometheus on 127.0.0.1:`port`; yields its URL; stopped on exit."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise EmbeddedServerError("prometheus is not installed (`make setup` installs it)")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(render_config(
        targets, interval=interval, runbook_url=runbook_url, alertmanager=alertmanager, jobs=jobs,
        rule_files=local_rule_files(workdir / "rules"))))
    with (workdir / "prometheus.log").open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our binary, our arguments
            [binary, f"--config.file={workdir / 'prometheus.yml'}",
             f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
             # firing alerts are re-sent every interval (default 1m), so an Alertmanager found
             # after the first evaluation hears of them at once
             f"--rules.alert.resend-delay={interval}"],
            stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        wait_for_port("127.0.0.1", port, 30, "Prometheus")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)
