"""Run a local Prometheus (Debian package) against a running stack, with the project's own
scrape jobs, recording rules and alerts (observability/prometheus). Used by `hotgigs up
--observe` (`make observe`) and by the telemetry tests."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from hotgigs.dev.embedded import EmbeddedServerError, wait_for_port

OBSERVABILITY = Path(__file__).resolve().parents[3] / "observability"


def render_config(targets: dict[str, str], *, interval: str = "5s") -> dict[str, Any]:
    """The repository's prometheus.yml with local targets (job name -> host:port)."""
    config: dict[str, Any] = yaml.safe_load(
        (OBSERVABILITY / "prometheus" / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": interval, "evaluation_interval": interval}
    config["rule_files"] = [str(OBSERVABILITY / "prometheus" / pattern)
                            for pattern in config["rule_files"]]
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


@contextlib.contextmanager
def run(targets: dict[str, str], workdir: Path, port: int, *, interval: str = "5s") -> Iterator[str]:
    """A started Prometheus on 127.0.0.1:`port`; yields its URL; stopped on exit."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise EmbeddedServerError("prometheus is not installed (`make setup` installs it)")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(render_config(targets, interval=interval)))
    with (workdir / "prometheus.log").open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our binary, our arguments
            [binary, f"--config.file={workdir / 'prometheus.yml'}",
             f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        wait_for_port("127.0.0.1", port, 30, "Prometheus")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)
