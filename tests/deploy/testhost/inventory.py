"""An Ansible inventory for the running test hosts, and a vault of secrets made for the run.

The committed part is `ansible/inventories/testhost/` (settings every test deploy shares, and
a vault example); this writes the rest into the run's folder:

    <run>/inventory/hosts.yml                  hosts, groups, how to reach them, addresses
    <run>/inventory/group_vars/all/vault.yml   test secrets, encrypted with ansible-vault
    <run>/vault-password                       its password (ANSIBLE_VAULT_PASSWORD_FILE)

Layouts: "single" puts host 0 in edge, api and data; "split" puts edge + api on host 0 and
edge + api + data on host 1: two edges (each Envoy routes to the workers of both hosts, each
Prometheus alerts to host 0's Alertmanager), host 0's workers use PostgreSQL and Redis on
host 1, all over the hosts' direct link. "production" is the shared
production layout (issues 13-15 reuse it): host 0 a pure edge (nginx, Envoy, monitoring; no
workers, no app env file), host 1 api, host 2 data, host 3 its streaming replica (synchronous),
on one private LAN. With `tls`, the edge
serves a provided certificate chain (nginx__tls_mode provided) instead of a self-signed one.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from tests.deploy.testhost.machine import Fleet
from tests.deploy.testhost.procs import check

ANSIBLE_DIR = Path(__file__).resolve().parents[3] / "ansible"
COMMITTED = ANSIBLE_DIR / "inventories" / "testhost"
Layout = Literal["single", "split", "production"]
OTLP_PORT = 4317  # the production layout's trace receiver on the monitoring host (host 0)


@dataclass(frozen=True)
class Inventory:
    """What ansible-playbook needs: the inventory sources and the vault password file."""

    sources: tuple[Path, ...]
    vault_password_file: Path
    secrets: dict[str, str] = field(default_factory=dict)  # the vault's values, to look for leaks

    def args(self) -> list[str]:
        return [arg for source in self.sources for arg in ("-i", str(source))]

    def env(self) -> dict[str, str]:
        return {"ANSIBLE_VAULT_PASSWORD_FILE": str(self.vault_password_file)}


def _hosts(fleet: Fleet, layout: Layout, tls: ProvidedTls | None) -> dict[str, Any]:
    ssh_args = " ".join(fleet.hosts[0].ssh_options()[2:])  # all but -i KEY
    connection: dict[str, Any] = {"ansible_user": "root", "ansible_ssh_private_key_file": str(fleet.key),
                  "ansible_ssh_common_args": ssh_args, "ansible_python_interpreter": "/usr/bin/python3"}
    edge = fleet.hosts[0]
    host_vars: dict[str, dict[str, Any]] = {
        edge.name: {"ansible_host": edge.address, "nginx__tls_extra_names": [f"IP:{edge.address}"]}}
    if tls is not None:
        host_vars[edge.name].update({
            "nginx__tls_mode": "provided", "nginx__tls_certificate_file": str(tls.chain),
            "nginx__tls_key_file": str(tls.key), "verify__ca_file": tls.root_on_host,
            "observability__probe_ca_file": tls.root_on_host})
    if layout == "single":
        groups = {"edge": [edge.name], "api": [edge.name], "data": [edge.name]}
    else:
        # The hosts reach each other over their private network; the roles derive the rest
        # (where the workers, PostgreSQL and Redis listen, pg_hba, the firewall) from the groups.
        for host in fleet.hosts:
            host_vars.setdefault(host.name, {"ansible_host": host.address})
            host_vars[host.name]["hotgigs_private_address"] = fleet.private_address(host.n)
        names = [host.name for host in fleet.hosts]
        groups = ({"edge": names[:2], "api": names[:2], "data": names[1:2]} if layout == "split"
                  else {"edge": names[:1], "api": names[1:2], "data": names[2:3], "replica": names[3:4]})
    if layout == "production":  # issue 14: the test runs in zero-loss (synchronous) mode
        connection["postgresql__synchronous_replication"] = True
        # Issue 15 item 9: traces go to the OTLP receiver the test runs on the monitoring host
        # (tests/deploy/otlp_receiver.py, on its private address; its firewall lets the others in).
        connection["hotgigs_otel_endpoint"] = f"http://{fleet.private_address(0)}:{OTLP_PORT}"
        connection["prepare__monitoring_extra_tcp_ports"] = [OTLP_PORT]
    if layout != "single":  # issue 18: the internal endpoint is open to the hosts' private network
        prefix = 24 if fleet.lan else 30
        connection["hotgigs_internal_grpc_networks"] = [
            str(ipaddress.ip_interface(f"{fleet.private_address(1)}/{prefix}").network)]
    return {"all": {
        "vars": connection,
        "hosts": host_vars,
        "children": {group: {"hosts": dict.fromkeys(names)} for group, names in groups.items()},
    }}


@dataclass(frozen=True)
class ProvidedTls:
    """nginx__tls_mode provided: the certificate chain and key files on this machine, and
    where the test put its CA's root on the edge host (the verify role's --ca-file)."""

    chain: Path
    key: Path
    root_on_host: str


def _account_password() -> str:
    """A random password the API's strength rules accept (the verification account's)."""
    from hotgigs.security.passwords import strength_violations

    while strength_violations(password := f"Vf-{secrets.token_urlsafe(18)}-7q"):
        pass
    return password


# The README's commands for the project CA (role pki), run as an operator would.
CA_COMMAND = ("openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes", "-days", "3650", "-subj", "/CN=HotGigs project CA",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign",
              "-keyout", "ca.key", "-out", "ca.crt")


def _project_ca(folder: Path) -> dict[str, str]:
    """A project CA made with the README's openssl command: the vault's certificate and key."""
    folder.mkdir(parents=True, exist_ok=True)
    check([*CA_COMMAND[:-4], "-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.crt")])
    return {"vault_hotgigs_ca_certificate": (folder / "ca.crt").read_text(),
            "vault_hotgigs_ca_private_key": (folder / "ca.key").read_text()}


def write(fleet: Fleet, layout: Layout = "single", *, tls: ProvidedTls | None = None) -> Inventory:
    """Write the run's inventory and an encrypted vault of fresh secrets."""
    folder = fleet.folder / "inventory"
    (folder / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    (folder / "hosts.yml").write_text(yaml.safe_dump(_hosts(fleet, layout, tls), sort_keys=False))
    password_file = fleet.folder / "vault-password"
    password_file.write_text(secrets.token_urlsafe(24) + "\n")
    password_file.chmod(0o600)
    vault = folder / "group_vars" / "all" / "vault.yml"
    values = {
        "vault_hotgigs_database_password": secrets.token_urlsafe(24),
        "vault_hotgigs_migration_password": secrets.token_urlsafe(24),
        "vault_hotgigs_jwt_secret_key": secrets.token_urlsafe(48),
        "vault_hotgigs_api_key_pepper": secrets.token_urlsafe(48),
        "vault_hotgigs_encryption_keks": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "vault_hotgigs_proxy_secret": secrets.token_urlsafe(24),
        "vault_hotgigs_monitoring_password": secrets.token_urlsafe(24),
        "vault_hotgigs_redis_password": secrets.token_urlsafe(24),
        "vault_hotgigs_verify_password": _account_password(),
        "vault_hotgigs_backup_passphrase": secrets.token_urlsafe(36),
        "vault_hotgigs_replication_password": secrets.token_urlsafe(24),
        "vault_alertmanager_smtp_password": secrets.token_urlsafe(24),
        **_project_ca(fleet.folder / "ca-project"),
    }
    vault.write_text(yaml.safe_dump(values))
    check([str(Path(sys.executable).parent / "ansible-vault"), "encrypt",
           "--vault-password-file", str(password_file), str(vault)])
    return Inventory(sources=(COMMITTED, folder), vault_password_file=password_file, secrets=values)

