"""One alerting path (issue 15 item 2), as Ansible renders it: every edge's Prometheus sends its
alerts to the one Alertmanager on the monitoring host (group `monitoring`, else the first edge)
with the same external labels, so Alertmanager merges what two edges both see into one alert;
each edge's own Envoy is named by its host, so two Envoys stay two alerts. The role's
Alertmanager configuration, rendered by Ansible from the inventory, passes `amtool check-config`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ANSIBLE = Path(__file__).resolve().parents[2] / "ansible"
ADDRESSES = {"edge1": "10.0.0.11", "edge2": "10.0.0.12", "api1": "10.0.0.21", "data1": "10.0.0.31",
             "mon1": "10.0.0.41"}
VARIABLES = ("hotgigs_monitoring_host", "hotgigs_alertmanager_address", "alertmanager__listen",
             "observability__config", "prepare__allowed_tcp_from")


def _inventory(groups: dict[str, list[str]],
               host_vars: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"all": {"children": {group: {"hosts": {host: {"ansible_host": ADDRESSES[host],
                                                          **(host_vars or {}).get(host, {})}
                                                   for host in hosts}}
                                 for group, hosts in groups.items()},
                    "vars": {"hotgigs_workers_per_host": 1, "hotgigs_domain": "hotgigs.example",
                             "hotgigs_smtp_server": "smtp.hotgigs.example",
                             "hotgigs_runbook_url": "https://wiki.hotgigs.example/runbook",
                             "alertmanager__deadmansswitch_url": "https://hc.example/ping/abc"}}}


def _playbook(folder: Path, groups: dict[str, list[str]], tasks: list[dict[str, Any]],
              hosts: str = "all", host_vars: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One ansible-playbook run (local connection) over an inventory of `groups`; its JSON."""
    (folder / "hosts.yml").write_text(yaml.safe_dump(_inventory(groups, host_vars)))
    if not (folder / "group_vars").exists():
        # The playbook must sit beside playbooks/group_vars (topology.yml) to load it.
        (folder / "group_vars").symlink_to(ANSIBLE / "playbooks" / "group_vars")
    (folder / "play.yml").write_text(yaml.safe_dump([{
        "name": "Render", "hosts": hosts, "gather_facts": False, "connection": "local",
        "roles": [{"role": role, "when": False} for role in ("prepare", "observability", "alertmanager")],
        "tasks": tasks}]))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(folder / "hosts.yml"),
         "-e", f"observability__root={ANSIBLE.parent / 'observability'}",
         "-e", f"ansible_python_interpreter={sys.executable}",
         "-e", f"alertmanager__template={ANSIBLE.parent / 'observability/alertmanager/alertmanager.yml.j2'}",
         str(folder / "play.yml")],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_ROLES_PATH": str(ANSIBLE / "roles")})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(result.stdout)
    return outcome


def _variables(folder: Path, groups: dict[str, list[str]],
               host_vars: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    shown = _playbook(folder, groups, [{"name": "Show", "ansible.builtin.debug": {
        "msg": {name: f"{{{{ {name} }}}}" for name in VARIABLES}}}], host_vars=host_vars)
    task = shown["plays"][0]["tasks"][-1]
    return {host: result["msg"] for host, result in task["hosts"].items()}


def _job(config: dict[str, Any], name: str) -> dict[str, Any]:
    job: dict[str, Any] = next(job for job in config["scrape_configs"] if job["job_name"] == name)
    return job


def _envoy_instance(config: dict[str, Any]) -> str:
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "hotgigs-envoy")
    instance: str = job["relabel_configs"][0]["replacement"]
    return instance


def test_two_edges_send_to_the_first_edges_alertmanager_with_the_same_labels(tmp_path: Path) -> None:
    rendered = _variables(tmp_path, {"edge": ["edge1", "edge2"], "api": ["api1"], "data": ["data1"]})
    edges = [rendered["edge1"], rendered["edge2"]]
    for edge in edges:
        assert edge["hotgigs_monitoring_host"] == "edge1"
        config = edge["observability__config"]
        assert config["alerting"]["alertmanagers"] == [{"static_configs": [{"targets": ["10.0.0.11:9093"]}]}]
        assert config["global"]["external_labels"] == {"runbook_url": "https://wiki.hotgigs.example/runbook"}
        assert "alerts/*.alerts.yml" in config["rule_files"]
    # Everything but the edge's own Envoy is the same target on both, so the same alert.
    assert [_envoy_instance(edge["observability__config"]) for edge in edges] == [
        "10.0.0.11:9901", "10.0.0.12:9901"]
    shared = [{k: v for k, v in edge["observability__config"].items() if k != "scrape_configs"}
              for edge in edges]
    assert shared[0] == shared[1]
    assert rendered["edge1"]["alertmanager__listen"] == "10.0.0.11:9093"
    # The firewall lets the other edge's Prometheus reach it, and nobody else.
    assert {"ports": [9093], "sources": ["10.0.0.12"]} in rendered["edge1"]["prepare__allowed_tcp_from"]
    assert not any(9093 in rule["ports"] for rule in rendered["edge2"]["prepare__allowed_tcp_from"])


def test_a_monitoring_group_takes_alertmanager_and_one_edge_alone_uses_loopback(tmp_path: Path) -> None:
    apart = _variables(tmp_path, {"edge": ["edge1"], "api": ["api1"], "data": ["data1"],
                                  "monitoring": ["mon1"]})
    assert apart["edge1"]["hotgigs_monitoring_host"] == "mon1"
    assert apart["edge1"]["observability__config"]["alerting"]["alertmanagers"][0]["static_configs"] == [
        {"targets": ["10.0.0.41:9093"]}]
    alone = _variables(tmp_path, {"edge": ["edge1"], "api": ["api1"], "data": ["data1"]})
    assert alone["edge1"]["alertmanager__listen"] == "127.0.0.1:9093"
    assert alone["edge1"]["observability__config"]["alerting"]["alertmanagers"][0]["static_configs"] == [
        {"targets": ["127.0.0.1:9093"]}]


@pytest.mark.skipif(shutil.which("amtool") is None, reason="make setup installs prometheus-alertmanager")
def test_the_roles_configuration_passes_amtool_and_routes_the_watchdog(tmp_path: Path) -> None:
    """The template task of the role (same template, same defaults) rendered by Ansible for an
    inventory; amtool checks it and routes a page, a ticket and the Watchdog."""
    out = tmp_path / "alertmanager.yml"
    _playbook(tmp_path, {"edge": ["edge1"], "api": ["api1"], "data": ["data1"]}, [{
        "name": "Render the role's template", "ansible.builtin.template": {
            "src": "{{ alertmanager__template }}", "dest": str(out), "mode": "0600",
            "trim_blocks": True, "lstrip_blocks": True}}], hosts="edge1")
    checked = subprocess.run(["amtool", "check-config", str(out)], capture_output=True, text=True,
                             check=False, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = yaml.safe_load(out.read_text())
    assert config["global"]["smtp_smarthost"] == "smtp.hotgigs.example:25"
    assert config["global"]["smtp_require_tls"] is True
    assert config["receivers"][0]["email_configs"][0]["to"] == "oncall@hotgigs.example"
    for labels, receiver in ((["alertname=HotgigsPostgresqlDown", "severity=page"], "page"),
                             (["alertname=HotgigsCertificateExpiry", "severity=ticket"], "ticket"),
                             (["alertname=Watchdog", "severity=none"], "deadmansswitch")):
        routed = subprocess.run(["amtool", "config", "routes", "test", f"--config.file={out}", *labels],
                                capture_output=True, text=True, check=False, timeout=30)
        assert routed.stdout.strip() == receiver, (labels, routed.stdout, routed.stderr)


def test_containers_node_targets_carry_clock_host_and_real_hosts_do_not(tmp_path: Path) -> None:
    """HotgigsClockNotSynchronised ignores clock="host" (promtool tests it both ways): only the
    node targets of containers get that label, decided from each host's facts."""
    groups = {"edge": ["edge1"], "api": ["api1"], "data": ["data1"]}
    rendered = _variables(tmp_path, groups, {"api1": {"hotgigs_clock_from_machine": True}})
    assert _job(rendered["edge1"]["observability__config"], "node")["static_configs"] == [
        {"targets": ["10.0.0.31:9100", "127.0.0.1:9100"]},
        {"targets": ["10.0.0.21:9100"], "labels": {"clock": "host"}}]
    every = _variables(tmp_path, groups, {host: {"hotgigs_clock_from_machine": True}
                                          for host in ("edge1", "api1", "data1")})
    assert _job(every["edge1"]["observability__config"], "node")["static_configs"] == [
        {"targets": ["10.0.0.21:9100", "10.0.0.31:9100", "127.0.0.1:9100"], "labels": {"clock": "host"}}]
    # Without facts (none gathered here) a host keeps its own clock: the alert stays armed.
    none = _variables(tmp_path, groups)
    assert _job(none["edge1"]["observability__config"], "node")["static_configs"] == [
        {"targets": ["10.0.0.21:9100", "10.0.0.31:9100", "127.0.0.1:9100"]}]
    # The facts decide: a systemd-nspawn or LXC guest shares its machine's clock, a VM does not.
    facts = {"nspawn": {"virtualization_role": "guest", "virtualization_type": "systemd-nspawn"},
             "lxc": {"virtualization_role": "guest", "virtualization_type": "lxc"},
             "kvm": {"virtualization_role": "guest", "virtualization_type": "kvm"},
             "metal": {"virtualization_role": "host", "virtualization_type": "kvm"}}
    shown = _playbook(tmp_path, groups, [
        {"name": kind, "ansible.builtin.debug": {"msg": "{{ hotgigs_clock_from_machine }}"},
         "vars": {"ansible_facts": value}} for kind, value in facts.items()], hosts="edge1")
    decided = {task["task"]["name"]: task["hosts"]["edge1"]["msg"] for task in shown["plays"][0]["tasks"]
               if task["task"]["name"] in facts}
    assert decided == {"nspawn": True, "lxc": True, "kvm": False, "metal": False}
