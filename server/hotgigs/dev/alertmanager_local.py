"""The Alertmanager configuration (observability/alertmanager/alertmanager.yml.j2) rendered from
the same variables the Ansible role uses, and a local Alertmanager (Debian package
prometheus-alertmanager) on loopback for the tests."""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import jinja2

from hotgigs.dev.embedded import EmbeddedServerError, wait_for_port
from hotgigs.settings import Settings

TEMPLATE = Path(__file__).resolve().parents[3] / "observability" / "alertmanager" / "alertmanager.yml.j2"

# The role's defaults (ansible/roles/observability/defaults/main.yml takes the inventory's).
DEFAULTS: dict[str, object] = {
    "alertmanager__smtp_server": "localhost",
    "alertmanager__smtp_port": 25,
    "alertmanager__smtp_from": "HotGigs alerts <alerts@hotgigs.local>",
    "alertmanager__smtp_username": "",
    "alertmanager__smtp_password": "",
    "alertmanager__smtp_require_tls": True,
    "alertmanager__page_email": "oncall@hotgigs.local",
    "alertmanager__ticket_email": "team@hotgigs.local",
    "alertmanager__webhook_url": "",
    "alertmanager__deadmansswitch_url": "http://127.0.0.1:9/deadmansswitch",
    "alertmanager__group_wait": "30s",
    "alertmanager__group_interval": "5m",
    "alertmanager__watchdog_interval": "5m",
}


def render(variables: Mapping[str, object] | None = None) -> str:
    """alertmanager.yml for `variables` (missing ones from DEFAULTS)."""
    values = {**DEFAULTS, **(variables or {})}
    template = jinja2.Template(TEMPLATE.read_text(), undefined=jinja2.StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    rendered: str = template.render(**values)
    return rendered


def binary(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if found is None:
        raise EmbeddedServerError(f"{name} is not installed: `make setup` installs the Debian "
                                  "package prometheus-alertmanager")
    return found


@contextlib.contextmanager
def run(config: str, workdir: Path, port: int) -> Iterator[str]:
    """A started Alertmanager on 127.0.0.1:`port` (no cluster); yields its URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "alertmanager.yml").write_text(config)
    with (workdir / "alertmanager.log").open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our binary, our arguments
            [binary("prometheus-alertmanager"), f"--config.file={workdir / 'alertmanager.yml'}",
             f"--storage.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
             "--cluster.listen-address="], stdout=subprocess.DEVNULL, stderr=log_file)
    try:
        wait_for_port("127.0.0.1", port, 30, "Alertmanager")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)


def smtp_variables(settings: Settings) -> dict[str, object]:
    """The template's SMTP variables from the app's own SMTP settings (SMTP_SERVER, ...)."""
    return {"alertmanager__smtp_server": settings.smtp_server or "localhost",
            "alertmanager__smtp_port": settings.smtp_port,
            "alertmanager__smtp_from": settings.smtp_from,
            "alertmanager__smtp_username": settings.smtp_username or "",
            "alertmanager__smtp_password": settings.smtp_password or "",
            # Alertmanager only uses STARTTLS when required: require it off loopback
            "alertmanager__smtp_require_tls": not _is_loopback(settings.smtp_server or "localhost")}


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
