"""Where telemetry goes in production (issue 15 item 9), as Ansible renders it from an inventory:
the workers' and Envoy's settings files name the inventory's OTLP collector, sampler ratio and
service names (nothing when no endpoint is set); every host's journald keeps to the inventory's
size and age; every host but the monitoring host uploads its journal there over mutual TLS with
the project CA's host certificates, and the monitoring host's firewall admits exactly them.
The rig's deploy scenarios prove the same end to end (tests/deploy/test_e2e_deploy.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ANSIBLE = Path(__file__).resolve().parents[2] / "ansible"
ADDRESSES = {"edge1": "10.0.0.11", "api1": "10.0.0.21", "api2": "10.0.0.22", "data1": "10.0.0.31",
             "mon1": "10.0.0.41"}
GROUPS = {"edge": ["edge1"], "api": ["api1", "api2"], "data": ["data1"]}
JOURNAL_TEMPLATES = {
    "journald": "etc/systemd/journald.conf.d/hotgigs.conf.j2",
    "upload": "etc/systemd/journal-upload.conf.d/hotgigs.conf.j2",
    "upload_unit": "etc/systemd/system/systemd-journal-upload.service.d/hotgigs.conf.j2",
    "remote": "etc/systemd/journal-remote.conf.d/hotgigs.conf.j2",
    "remote_unit": "etc/systemd/system/systemd-journal-remote.service.d/hotgigs.conf.j2",
    "socket": "etc/systemd/system/systemd-journal-remote.socket.d/hotgigs.conf.j2",
    "vacuum": "etc/systemd/system/hotgigs-journal-remote-vacuum.service.j2",
}
ENV_TEMPLATES = {"hotgigs.env": ANSIBLE / "roles/app/templates/etc/hotgigs/hotgigs.env.j2",
                 "envoy.env": ANSIBLE / "roles/envoy/templates/etc/hotgigs/envoy.env.j2"}


def _render(folder: Path, groups: dict[str, list[str]],
            extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every host's journal and env templates rendered by Ansible (local connection), plus the
    variables that decide them; {host: {name: text or value}}."""
    hosts = {host for names in groups.values() for host in names}
    folder.mkdir(exist_ok=True)
    inventory = {"all": {
        "children": {group: {"hosts": {host: {"ansible_host": ADDRESSES[host]} for host in names}}
                     for group, names in groups.items()},
        "vars": {"hotgigs_workers_per_host": 2, "hotgigs_domain": "hotgigs.example",
                 "hotgigs_database_user": "hotgigs", "hotgigs_database_password": "db-secret",
                 "hotgigs_database_name": "hotgigs", "hotgigs_redis_password": "redis-secret",
                 "hotgigs_jwt_secret_key": "jwt", "hotgigs_api_key_pepper": "pepper",
                 "hotgigs_encryption_keks": "k1:x", "hotgigs_proxy_secret": "proxy",
                 "hotgigs_cors_origins": "https://hotgigs.example", "hotgigs_smtp_server": "",
                 "hotgigs_db_pool_size": 10, "hotgigs_db_max_overflow": 5, **(extra or {})}}}
    (folder / "hosts.yml").write_text(yaml.safe_dump(inventory))
    if not (folder / "group_vars").exists():  # beside playbooks/group_vars (topology.yml)
        (folder / "group_vars").symlink_to(ANSIBLE / "playbooks" / "group_vars")
    out = folder / "out"
    tasks: list[dict[str, Any]] = [
        {"name": f"Render {name}", "ansible.builtin.template": {
            "src": str(ANSIBLE / "roles/journal/templates" / template),
            "dest": f"{out}/{{{{ inventory_hostname }}}}/{name}", "mode": "0600"}}
        for name, template in JOURNAL_TEMPLATES.items()]
    tasks += [{"name": f"Render {name}", "ansible.builtin.template": {
        "src": str(template), "dest": f"{out}/{{{{ inventory_hostname }}}}/{name}", "mode": "0600"}}
        for name, template in ENV_TEMPLATES.items()]
    variables = ("journal__senders", "journal__remote_url", "prepare__allowed_tcp_from")
    tasks.append({"name": "Show", "ansible.builtin.debug": {
        "msg": {name: f"{{{{ {name} }}}}" for name in variables}}})
    (folder / "play.yml").write_text(yaml.safe_dump([{
        "name": "Render", "hosts": "all", "gather_facts": False, "connection": "local",
        "roles": [{"role": role, "when": False} for role in ("prepare", "app", "envoy", "journal")],
        "pre_tasks": [{"name": "Make the output folders", "ansible.builtin.file": {
            "path": f"{out}/{{{{ inventory_hostname }}}}", "state": "directory", "mode": "0700"}}],
        "tasks": tasks}]))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(folder / "hosts.yml"),
         "-e", f"ansible_python_interpreter={sys.executable}", "-e", "hotgigs_release=0.1.0",
         str(folder / "play.yml")],
        capture_output=True, text=True, check=False, timeout=180,
        env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_ROLES_PATH": str(ANSIBLE / "roles")})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    shown = json.loads(result.stdout)["plays"][0]["tasks"][-1]["hosts"]
    return {host: {**shown[host]["msg"],
                   **{name: (out / host / name).read_text() for name in [*JOURNAL_TEMPLATES, *ENV_TEMPLATES]}}
            for host in hosts}


def _settings(text: str) -> list[str]:
    """A systemd configuration's assignments in order (repeated keys kept), comments dropped."""
    return [line for line in text.splitlines() if "=" in line and not line.startswith("#")]


def test_traces_and_journals_go_where_the_inventory_says(tmp_path: Path) -> None:
    """One edge (the monitoring host), two API hosts, a data host: the collector, sampler and
    names in both settings files; journald's limits everywhere; the others upload to the edge."""
    rendered = _render(tmp_path, GROUPS, {
        "hotgigs_otel_endpoint": "http://10.0.0.11:4317", "hotgigs_otel_traces_sampler_arg": 0.1,
        "hotgigs_otel_service_name": "shop-api", "hotgigs_otel_envoy_service_name": "shop-edge",
        "journal__max_use": "4G", "journal__max_retention": "14day",
        "prepare__monitoring_extra_tcp_ports": [4317]})
    expected = ["OTEL_EXPORTER_OTLP_ENDPOINT=http://10.0.0.11:4317", "OTEL_TRACES_SAMPLER_ARG=0.1"]
    assert [line for line in rendered["api1"]["hotgigs.env"].splitlines() if line.startswith("OTEL_")] == [
        *expected, "OTEL_SERVICE_NAME=shop-api"]
    assert [line for line in rendered["edge1"]["envoy.env"].splitlines() if line.startswith("OTEL_")] == [
        *expected, "OTEL_SERVICE_NAME=shop-edge"]
    senders = ["api1", "api2", "data1"]
    for host in ["edge1", *senders]:
        assert _settings(rendered[host]["journald"]) == [
            "Storage=persistent", "SystemMaxUse=4G", "SystemKeepFree=2G", "MaxRetentionSec=14day"]
        assert sorted(rendered[host]["journal__senders"]) == senders
    for host in senders:
        upload = _settings(rendered[host]["upload"])
        assert upload[0] == "URL=https://10.0.0.11:19532"
        credentials = "/run/credentials/systemd-journal-upload.service"
        assert upload[1:] == [f"ServerKeyFile={credentials}/host.key",
                              f"ServerCertificateFile={credentials}/host.crt",
                              f"TrustedCertificateFile={credentials}/ca.crt"]
        unit = _settings(rendered[host]["upload_unit"])
        assert "LoadCredential=host.key:/etc/hotgigs/journal/host.key" in unit
        assert "LoadCredential=ca.crt:/etc/hotgigs/pki/ca.crt" in unit
        assert {"Restart=always", "StartLimitIntervalSec=0"} <= set(unit)
        # Nobody else receives journals: only the monitoring host opens 19532.
        assert not any(19532 in rule["ports"] for rule in rendered[host]["prepare__allowed_tcp_from"])
    monitoring = rendered["edge1"]
    assert "TrustedCertificateFile=/run/credentials/systemd-journal-remote.service/ca.crt" in _settings(
        monitoring["remote"])
    assert "SplitMode=host" in _settings(monitoring["remote"])
    assert _settings(monitoring["socket"]) == ["ListenStream=", "ListenStream=10.0.0.11:19532",
                                               "FreeBind=true"]
    assert {"ports": [19532, 4317], "sources": ["10.0.0.21", "10.0.0.22", "10.0.0.31"]} in monitoring[
        "prepare__allowed_tcp_from"]
    assert ("ExecStart=/usr/bin/journalctl --directory=/var/log/journal/remote --vacuum-size=20G "
            "--vacuum-time=30d") in _settings(monitoring["vacuum"])


def test_a_monitoring_group_receives_and_a_single_host_forwards_nothing(tmp_path: Path) -> None:
    """A monitoring host apart receives every other host's journal (the edge's too); one host
    alone forwards nothing; no OTLP endpoint: no OTEL_ line (the settings' default, no tracing)."""
    apart = _render(tmp_path, {**GROUPS, "monitoring": ["mon1"]})
    assert "OTEL_" not in apart["api1"]["hotgigs.env"] and "OTEL_" not in apart["edge1"]["envoy.env"]
    assert sorted(apart["mon1"]["journal__senders"]) == ["api1", "api2", "data1", "edge1"]
    assert _settings(apart["edge1"]["upload"])[0] == "URL=https://10.0.0.41:19532"
    assert {"ports": [19532], "sources": ["10.0.0.11", "10.0.0.21", "10.0.0.22", "10.0.0.31"]} in apart[
        "mon1"]["prepare__allowed_tcp_from"]
    alone = _render(tmp_path / "alone", {"edge": ["edge1"], "api": ["edge1"], "data": ["edge1"]})
    assert alone["edge1"]["journal__senders"] == []
    assert not any(19532 in rule["ports"] for rule in alone["edge1"]["prepare__allowed_tcp_from"])
