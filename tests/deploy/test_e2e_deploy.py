"""End to end: the Ansible deploy on a real Debian 12 host (systemd-nspawn), twice.

Boots a throwaway host from the cached image (tests/deploy/testhost), runs
`playbooks/deploy.yml` over SSH (which ends with the verify role on the host), checks the
deployment from outside with `hotgigs verify --url https://<host address>`, then deploys again
and requires changed=0 in the PLAY RECAP. Needs root; selected by `make deploy-test`
(`pytest -m deploy`), left out of the default run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.testhost import inventory as testhost_inventory
from tests.deploy.testhost.machine import Fleet, hosts_running
from tests.deploy.testhost.playbook import PlaybookRun, run_playbook
from tests.deploy.testhost.procs import say

pytestmark = [
    pytest.mark.deploy,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(os.geteuid() != 0, reason="boots a container: needs root"),
]

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "hotgigs.test"
# Appended to hotgigs/cli.py in the broken release: `hotgigs serve` exits, migrate still works.
BREAK_SERVE = b"\nif sys.argv[1:2] == ['serve']:\n    raise SystemExit('deliberately broken release')\n"


@dataclass
class Deployment:
    fleet: Fleet
    inventory: testhost_inventory.Inventory
    first: PlaybookRun
    log: Path


def _require_wheelhouse() -> None:
    if not any((ROOT / "dist" / "wheelhouse").glob("hotgigs-*.whl")):
        pytest.fail("no wheelhouse: run `make wheelhouse` first (make deploy-test does)")


@pytest.fixture(scope="module", params=["single", "split"])
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """Deployed once: "single" is one host in edge, api and data; "split" puts data on a second host."""
    _require_wheelhouse()
    layout: testhost_inventory.Layout = request.param
    with hosts_running(1 if layout == "single" else 2, edge_names=(DOMAIN,)) as fleet:
        inventory = testhost_inventory.write(fleet, layout)
        log = fleet.folder / "ansible.log"
        first = run_playbook("playbooks/deploy.yml", inventory, log=log)
        try:
            yield Deployment(fleet=fleet, inventory=inventory, first=first, log=log)
        finally:
            if os.environ.get("HOTGIGS_TESTHOST_KEEP_LOG"):
                keep = Path(os.environ["HOTGIGS_TESTHOST_KEEP_LOG"])
                keep.write_text(log.read_text())


def _verify_from_here(deployment: Deployment) -> subprocess.CompletedProcess[str]:
    host = deployment.fleet.hosts[0]
    ca_file = deployment.fleet.folder / "tls.crt"
    ca_file.write_text(host.ssh("cat /etc/hotgigs/tls/tls.crt").stdout)
    hotgigs = Path(sys.executable).parent / "hotgigs"
    return subprocess.run([str(hotgigs), "verify", "--url", f"https://{host.address}",
                           "--ca-file", str(ca_file),
                           "--suites", "integration,security"],
                          capture_output=True, text=True, timeout=300, check=False)


def _broken_wheelhouse(source: Path, dest: Path) -> Path:
    """A copy of the wheelhouse whose app installs and migrates but whose workers exit at start."""
    shutil.copytree(source, dest)
    wheel = next(dest.glob("hotgigs-*.whl"))
    broken = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as original, \
            zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            data = original.read(item)
            if item.filename == "hotgigs/cli.py":
                data += BREAK_SERVE
            copy.writestr(item, data)
    broken.replace(wheel)
    return dest


class TestDeploy:
    def test_first_deploy_succeeds(self, deployment: Deployment) -> None:
        """deploy.yml runs to the end on a fresh host, the verify role included."""
        run = deployment.first
        assert run.returncode == 0, run.output[-3000:]
        assert run.total("failed") == 0 and run.total("unreachable") == 0, run.recap
        assert "Run the post-deployment checks" in run.output

    def test_verify_passes_from_outside(self, deployment: Deployment) -> None:
        """`hotgigs verify --url https://<host address>` passes, trusting the host's self-signed cert."""
        started = time.monotonic()
        result = _verify_from_here(deployment)
        seconds = time.monotonic() - started
        summary = (result.stdout.strip().splitlines() or ["no output"])[-1]
        say(f"hotgigs verify from this machine: exit {result.returncode} in {seconds:.1f} s ({summary})")
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

    def test_prometheus_scrapes_every_worker(self, deployment: Deployment) -> None:
        """The edge's Prometheus has one hotgigs-api target per worker (946N), and they are up."""
        script = ("import json, urllib.request; "
                  "targets = json.load(urllib.request.urlopen('http://127.0.0.1:9090/api/v1/targets'))"
                  "['data']['activeTargets']; "
                  "print(sorted(t['scrapeUrl'] + ' ' + t['health'] for t in targets "
                  "if t['labels']['job'] == 'hotgigs-api'))")
        wanted = str([f"http://127.0.0.1:946{n}/metrics up" for n in (1, 2)])
        deadline = time.monotonic() + 45  # a scrape every 15 s
        while (seen := deployment.fleet.hosts[0].ssh(f'python3 -c "{script}"').stdout.strip()) != wanted:
            assert time.monotonic() < deadline, seen
            time.sleep(3)

    def test_second_deploy_changes_nothing(self, deployment: Deployment) -> None:
        """Running deploy.yml again changes nothing (changed=0 for every host)."""
        run = run_playbook("playbooks/deploy.yml", deployment.inventory, log=deployment.log)
        assert run.returncode == 0, run.output[-3000:]
        assert run.recap, run.output[-3000:]
        assert run.total("changed") == 0, "\n".join(run.changed_tasks())

    def test_split_api_uses_the_data_host(self, deployment: Deployment) -> None:
        """With data on the second host, the API host has no PostgreSQL and holds connections to it."""
        if len(deployment.fleet.hosts) == 1:
            pytest.skip("single host layout")
        api, data = deployment.fleet.hosts
        assert api.ssh("dpkg -s postgresql redis-server", check_rc=False).returncode != 0
        connections = data.ssh("ss -Htn state established '( sport = :5432 or sport = :6379 )'").stdout
        assert deployment.fleet.peer_links[(0, 1)].near in connections, connections

    def test_broken_release_is_rolled_back(self, deployment: Deployment) -> None:
        """A release whose workers do not start fails verification; current goes back to the last one."""
        if len(deployment.fleet.hosts) != 1:
            pytest.skip("rollback is tested on the single host layout")
        host = deployment.fleet.hosts[0]
        before = host.ssh("readlink /opt/hotgigs/current").stdout.strip()
        broken = _broken_wheelhouse(ROOT / "dist" / "wheelhouse",
                                    deployment.fleet.folder / "wheelhouse-broken")
        run = run_playbook("playbooks/deploy.yml", deployment.inventory, log=deployment.log,
                           extra_args=("-e", "hotgigs_release=0.1.0-broken",
                                       "-e", f"app__wheelhouse={broken}"))
        assert run.returncode != 0, run.output[-3000:]
        assert "failed verification and was rolled back" in run.output, run.output[-3000:]
        assert host.ssh("readlink /opt/hotgigs/current").stdout.strip() == before
        assert host.ssh("systemctl is-active hotgigs-api@1 hotgigs-api@2").returncode == 0
        result = _verify_from_here(deployment)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
