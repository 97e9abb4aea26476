"""Issue 18 item 2, the Ansible side: where the edge and the API hosts are apart, the roles turn
gRPC's mutual TLS on (workers' and Envoy's settings from the pki role's host certificate, the
internal endpoint, its firewall rule); one host alone stays plaintext. The roles' own templates
are rendered by Ansible for a one-host and a two-host inventory (the deploy test's single and
split layouts) and read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ANSIBLE = Path(__file__).resolve().parents[2] / "ansible"
TEMPLATES = {
    "hotgigs_env": ANSIBLE / "roles/app/templates/etc/hotgigs/hotgigs.env.j2",
    "envoy_env": ANSIBLE / "roles/envoy/templates/etc/hotgigs/envoy.env.j2",
    "nftables": ANSIBLE / "roles/prepare/templates/etc/nftables.conf.j2",
}
SETTINGS = {
    "hotgigs_workers_per_host": 2, "hotgigs_domain": "hotgigs.example", "hotgigs_release": "1",
    "hotgigs_database_user": "hotgigs", "hotgigs_database_name": "hotgigs",
    "hotgigs_database_password": "db-secret", "hotgigs_redis_password": "redis-secret",
    "hotgigs_jwt_secret_key": "jwt-secret", "hotgigs_api_key_pepper": "pepper",
    "hotgigs_encryption_keks": "k1:AAAA", "hotgigs_proxy_secret": "proxy-secret",
    "hotgigs_cors_origins": "https://hotgigs.example", "hotgigs_smtp_server": "",
    "hotgigs_db_pool_size": 10, "hotgigs_db_max_overflow": 5,
}


def _render(tmp_path: Path, groups: dict[str, list[str]], addresses: dict[str, str],
            extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    hosts = {host: {"ansible_host": address} for host, address in addresses.items()}
    inventory = {"all": {"vars": {**SETTINGS, **extra}, "hosts": hosts, "children": {
        group: {"hosts": dict.fromkeys(members)} for group, members in groups.items()}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    (tmp_path / "group_vars").symlink_to(ANSIBLE / "playbooks" / "group_vars")
    shown = {"hotgigs_grpc_tls": "{{ hotgigs_grpc_tls | bool }}",
             **{name: f"{{{{ lookup('ansible.builtin.template', '{path}') }}}}"
                for name, path in TEMPLATES.items()}}
    (tmp_path / "render.yml").write_text(yaml.safe_dump([{
        "name": "Render", "hosts": "all", "gather_facts": False, "connection": "local",
        "roles": [{"role": role, "when": False} for role in ("prepare", "app", "envoy")],
        "tasks": [{"name": "Show", "ansible.builtin.debug": {"msg": shown}}],
    }]))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
         str(tmp_path / "render.yml")],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_ROLES_PATH": str(ANSIBLE / "roles")})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    task = json.loads(result.stdout)["plays"][0]["tasks"][-1]
    return {host: outcome["msg"] for host, outcome in task["hosts"].items()}


def _settings(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_one_host_alone_stays_plaintext(tmp_path: Path) -> None:
    shown = _render(tmp_path, {"edge": ["one"], "api": ["one"], "data": ["one"]},
                    {"one": "192.0.2.10"}, {"hotgigs_internal_grpc_networks": ["10.0.0.0/24"]})["one"]
    assert shown["hotgigs_grpc_tls"] is False
    assert not any(name.startswith("HOTGIGS_GRPC_TLS") for name in _settings(shown["hotgigs_env"]))
    envoy = _settings(shown["envoy_env"])
    assert not any("TLS" in name or "INTERNAL" in name for name in envoy), envoy
    assert "50443" not in shown["nftables"]


def test_edge_and_api_hosts_apart_use_mutual_tls_and_open_the_internal_endpoint(tmp_path: Path) -> None:
    shown = _render(tmp_path, {"edge": ["edge1"], "api": ["edge1", "api2"], "data": ["api2"]},
                    {"edge1": "10.0.0.11", "api2": "10.0.0.22"},
                    {"hotgigs_internal_grpc_networks": ["10.0.5.0/24", "10.0.0.22", "fd00::/64"]})
    edge, api = shown["edge1"], shown["api2"]
    for host in (edge, api):  # the edge's own workers (on its loopback) speak TLS too
        assert host["hotgigs_grpc_tls"] is True
        worker = _settings(host["hotgigs_env"])
        assert worker["HOTGIGS_GRPC_TLS_CERT_FILE"] == "/etc/hotgigs/pki/grpc.crt"
        assert worker["HOTGIGS_GRPC_TLS_KEY_FILE"] == "/etc/hotgigs/pki/grpc.key"
        assert worker["HOTGIGS_GRPC_TLS_CLIENT_CA_FILE"] == "/etc/hotgigs/pki/ca.crt"
    envoy = _settings(edge["envoy_env"])
    assert envoy["HOTGIGS_ENVOY_TLS_CERT_FILE"] == "/etc/hotgigs/pki/envoy.crt"
    assert envoy["HOTGIGS_ENVOY_TLS_KEY_FILE"] == "/etc/hotgigs/pki/envoy.key"
    assert envoy["HOTGIGS_ENVOY_TLS_CA_FILE"] == "/etc/hotgigs/pki/ca.crt"
    assert envoy["HOTGIGS_ENVOY_UPSTREAM_TLS"] == "on"
    # the API hosts' inventory names: the names every host certificate carries (role pki)
    assert envoy["HOTGIGS_ENVOY_UPSTREAM_SANS"] == "edge1,api2"
    assert envoy["HOTGIGS_INTERNAL_GRPC_ADDRESS"] == "10.0.0.11:50443"
    # the internal endpoint is open on the edge to the inventory's networks only, by family;
    # the workers' gRPC ports on the API host to the edge only
    assert "ip saddr { 10.0.5.0/24, 10.0.0.22 } tcp dport { 50443 } accept" in edge["nftables"]
    assert "ip6 saddr { fd00::/64 } tcp dport { 50443 } accept" in edge["nftables"]
    assert "50443" not in api["nftables"]
    assert "ip saddr { 10.0.0.11 } tcp dport { 50051, 50052, 9461, 9462 } accept" in api["nftables"]


def test_no_internal_networks_leave_the_endpoint_closed(tmp_path: Path) -> None:
    shown = _render(tmp_path, {"edge": ["edge1"], "api": ["api1"], "data": ["api1"]},
                    {"edge1": "10.0.0.11", "api1": "10.0.0.21"}, {})
    assert "50443" not in shown["edge1"]["nftables"]
    # Envoy still listens there (the firewall drops it): one setting, one place to open it
    assert _settings(shown["edge1"]["envoy_env"])["HOTGIGS_ENVOY_UPSTREAM_SANS"] == "api1"
