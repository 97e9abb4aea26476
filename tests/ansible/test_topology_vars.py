"""The inventory-derived variables render the same on every run, for a five-host inventory.

Ansible's set filters (`union`, `difference`) return their items in hash order, which changes
from process to process. A list rendered into a file (nftables rules, pg_hba.conf, Redis's bind
line, Prometheus targets) would then change on every deploy: a reload each time and never
changed=0. Each run here uses a different PYTHONHASHSEED, so such an order shows up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ANSIBLE = Path(__file__).resolve().parents[2] / "ansible"
VARIABLES = (
    "prepare__allowed_tcp_from", "prepare__node_exporter_listen", "postgresql__remote_clients",
    "postgresql__listen", "postgresql__client_networks", "redis__bind",
    "hotgigs_api_workers", "hotgigs_api_metrics_targets", "hotgigs_node_exporter_targets",
    "hotgigs_postgres_exporter_targets", "hotgigs_redis_exporter_targets", "observability__config",
    "postgresql__replication_peers", "postgresql__slot_names", "hotgigs_database_host",
    "hotgigs_database_url_params", "hotgigs_database_replica_host", "hotgigs_redis_host",
)
INVENTORY = {"all": {"children": {
    "edge": {"hosts": {"edge1": None, "edge2": None}},
    "api": {"hosts": {"api1": None, "api2": None, "api3": None, "edge1": None}},
    "data": {"hosts": {"data1": None}},
    "replica": {"hosts": {"data2": None}},
}, "vars": {"hotgigs_workers_per_host": 2, "hotgigs_domain": "hotgigs.example"}}}
ADDRESSES = {"edge1": "10.0.0.11", "edge2": "10.0.0.12", "api1": "10.0.0.21",
             "api2": "10.0.0.22", "api3": "10.0.0.23", "data1": "10.0.0.31", "data2": "10.0.0.32"}


def _render(folder: Path, seed: int) -> dict[str, dict[str, object]]:
    """Every host's VARIABLES, as one ansible-playbook run with this hash seed renders them."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(folder / "hosts.yml"),
         "-e", f"observability__root={ANSIBLE.parent / 'observability'}", str(folder / "render.yml")],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "PYTHONHASHSEED": str(seed), "ANSIBLE_STDOUT_CALLBACK": "json",
             "ANSIBLE_ROLES_PATH": str(ANSIBLE / "roles"), "ANSIBLE_NOCOLOR": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    task = json.loads(result.stdout)["plays"][0]["tasks"][-1]
    return {host: outcome["msg"] for host, outcome in task["hosts"].items()}


def test_derived_variables_do_not_depend_on_hash_order(tmp_path: Path) -> None:
    inventory = json.loads(json.dumps(INVENTORY))
    for group in inventory["all"]["children"].values():
        group["hosts"] = {host: {"ansible_host": ADDRESSES[host]} for host in group["hosts"]}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    # The playbook must sit beside playbooks/group_vars (topology.yml) to load it.
    (tmp_path / "group_vars").symlink_to(ANSIBLE / "playbooks" / "group_vars")
    (tmp_path / "render.yml").write_text(yaml.safe_dump([{
        "name": "Render the derived variables", "hosts": "all", "gather_facts": False,
        "connection": "local",
        "roles": [{"role": role, "when": False}
                  for role in ("prepare", "postgresql", "redis", "observability")],
        "tasks": [{"name": "Show them", "ansible.builtin.debug": {
            "msg": {name: f"{{{{ {name} }}}}" for name in VARIABLES}}}],
    }]))
    renders = [_render(tmp_path, seed) for seed in (1, 2, 3, 4)]
    assert set(renders[0]) == set(ADDRESSES)
    for other in renders[1:]:
        assert other == renders[0]
    # What the stable order is: the inventory's (an edge host lists its peers as listed).
    api1 = renders[0]["api1"]
    assert api1["hotgigs_api_workers"][:2] == ["10.0.0.21:50051", "10.0.0.21:50052"]
    assert renders[0]["data1"]["postgresql__remote_clients"] == [
        "10.0.0.21", "10.0.0.22", "10.0.0.23", "10.0.0.11"]
    # Issue 14: the replica (data2) streams from data1 over TLS through its slot; each reaches
    # the other's 5432 (a failover reverses them); the API hosts use data1 over verified TLS,
    # Redis on data1, and the replica for reads.
    data1, data2 = renders[0]["data1"], renders[0]["data2"]
    assert data1["postgresql__slot_names"] == ["replica_data2"]
    assert (data1["postgresql__replication_peers"], data2["postgresql__replication_peers"]) == (
        ["10.0.0.32"], ["10.0.0.31"])
    assert {"ports": [5432], "sources": ["10.0.0.31"]} in data2["prepare__allowed_tcp_from"]
    assert {"ports": [5432], "sources": ["10.0.0.32"]} in data1["prepare__allowed_tcp_from"]
    hosts = ("hotgigs_database_host", "hotgigs_redis_host", "hotgigs_database_replica_host")
    assert [api1[name] for name in hosts] == ["10.0.0.31", "10.0.0.31", "10.0.0.32"]
    assert api1["hotgigs_database_url_params"] == "?sslmode=verify-full&sslrootcert=/etc/hotgigs/pki/ca.crt"
    assert (data1["hotgigs_database_host"], data1["hotgigs_database_url_params"]) == ("127.0.0.1", "")
    assert "10.0.0.32:9187" in renders[0]["edge1"]["hotgigs_postgres_exporter_targets"]
