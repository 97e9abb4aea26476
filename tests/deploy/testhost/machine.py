"""Booting test hosts from the image, reaching them over SSH, and tearing them down.

    with hosts_running(2) as fleet:       # two hosts, linked to each other
        fleet.hosts[0].ssh("systemctl is-system-running")

Teardown runs on every exit path: nspawn is stopped (SIGTERM, which powers the container off,
then SIGKILL), whatever is left in its cgroups is killed, then the cgroup folders, the network
namespaces and the working root filesystems are removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.deploy.testhost import cgroups, network
from tests.deploy.testhost.image import REPO_MOUNT, Image, ensure_image
from tests.deploy.testhost.procs import check, run, say

RUN_ROOT = Path(os.environ.get("HOTGIGS_TESTHOST_RUN", "/var/tmp/hotgigs-testhost"))  # noqa: S108 - root-only rig, own folder per run
BOOT_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0


@dataclass
class TestHost:
    """One booted container: its number, name, address and the pieces teardown removes."""

    n: int
    folder: Path
    key: Path
    process: subprocess.Popen[bytes] | None = None
    cgroup_folders: list[Path] = field(default_factory=list)

    __test__ = False  # not a pytest test class

    @property
    def name(self) -> str:
        return f"testhost{self.n}"

    @property
    def address(self) -> str:
        """Where this machine reaches the host (SSH, HTTPS)."""
        return network.host_link(self.n).far

    @property
    def rootfs(self) -> Path:
        return self.folder / "rootfs"

    def ssh_options(self) -> list[str]:
        return ["-i", str(self.key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]

    def ssh(self, command: str, *, check_rc: bool = True,
            timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run a shell command on the host as root."""
        result = subprocess.run(["ssh", *self.ssh_options(), f"root@{self.address}", command],
                                capture_output=True, text=True, timeout=timeout, check=False)
        if check_rc and result.returncode != 0:
            raise RuntimeError(f"{self.name}: {command!r} failed ({result.returncode}): "
                               f"{result.stderr.strip()}")
        return result

    def unpack(self, image: Image, hosts_lines: list[str]) -> None:
        """The image's rootfs in this host's folder, with our SSH key, name and /etc/hosts."""
        self.rootfs.mkdir(parents=True)
        run(["tar", "-C", str(self.rootfs), "--numeric-owner", "--xattrs", "-I", "zstd -T0", "-xf",
             str(image.tarball)], step=f"{self.name}: unpack the image", log=self.folder / "host.log")
        ssh_dir = self.rootfs / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(Path(f"{self.key}.pub").read_text())
        (ssh_dir / "authorized_keys").chmod(0o600)
        (self.rootfs / "etc/hostname").write_text(f"{self.name}\n")
        (self.rootfs / "etc/hosts").write_text(
            "\n".join(["127.0.0.1 localhost", f"127.0.1.1 {self.name}", *hosts_lines, ""]))
        (self.rootfs / "etc/resolv.conf").unlink(missing_ok=True)
        (self.rootfs / "etc/resolv.conf").write_text("# no DNS on test hosts\n")

    def boot(self, image: Image) -> None:
        """Start systemd in the container, inside our cgroups and the host's namespace."""
        self.cgroup_folders = cgroups.create(f"hotgigs-{self.name}-{os.getpid()}")  # hotgigs-testhostN-PID
        cmd = [*cgroups.enter_command(self.cgroup_folders), "systemd-nspawn", "--boot",
               "-D", str(self.rootfs),
               f"--machine={self.name}", "--register=no", "--keep-unit", "--resolv-conf=off",
               "--capability=CAP_NET_ADMIN",  # nftables in its own network namespace
               f"--network-namespace-path=/run/netns/{network.namespace(self.n)}",
               f"--bind-ro={image.repo}:{REPO_MOUNT}", "--console=read-only"]
        console = (self.folder / "console.log").open("wb")
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=console,
                                        stderr=subprocess.STDOUT)
        console.close()

    def wait_ready(self) -> None:
        """Until SSH answers and systemd has finished starting (running or degraded)."""
        started = time.monotonic()
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name}: nspawn exited ({self.process.returncode}); "
                                   f"see {self.folder / 'console.log'}")
            result = self.ssh("systemctl is-system-running --wait", check_rc=False, timeout=60)
            state = result.stdout.strip()
            if state in ("running", "degraded"):
                break
            if time.monotonic() - started > BOOT_TIMEOUT_SECONDS:
                raise RuntimeError(f"{self.name}: not up after {BOOT_TIMEOUT_SECONDS:.0f} s "
                                   f"({state or result.stderr.strip()})")
            time.sleep(0.5)
        if state == "degraded":
            failed = self.ssh("systemctl --failed --no-legend --plain", check_rc=False).stdout.strip()
            say(f"{self.name}: degraded at boot, failed units: {failed}")
        say(f"{self.name}: up at {self.address} after {time.monotonic() - started:.1f} s")

    def stop(self) -> None:
        """Power off (SIGTERM to nspawn), kill what is left, remove cgroups and the rootfs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                say(f"{self.name}: did not power off in {STOP_TIMEOUT_SECONDS:.0f} s, killing it")
                self.process.kill()
                self.process.wait()
        for folder in self.cgroup_folders:
            _kill_all(folder)
        cgroups.remove(self.cgroup_folders)
        shutil.rmtree(self.rootfs, ignore_errors=True)


def _kill_all(folder: Path) -> None:
    """SIGKILL every process left in a cgroup subtree."""
    for _round in range(20):
        pids = {int(pid) for procs in folder.rglob("cgroup.procs") for pid in _read(procs).split()}
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


@dataclass
class Fleet:
    """The running hosts, the key that opens them and where their files are."""

    folder: Path
    key: Path
    hosts: list[TestHost]
    peer_links: dict[tuple[int, int], network.Link]
    lan: bool = False  # one private LAN (network.lan_address) instead of peer links

    def private_address(self, n: int) -> str:
        """Where the other hosts reach host n (its LAN address; with peer links, host 0 and 1's)."""
        if self.lan:
            return network.lan_address(n)
        link = self.peer_links[(0, 1)]
        return link.near if n == 0 else link.far


def host_names_lines(count: int, edge_names: tuple[str, ...]) -> list[str]:
    """/etc/hosts lines: the edge names resolve to host 0's address."""
    return [f"{network.host_link(0).far} {' '.join(edge_names)}"] if edge_names and count else []


@contextlib.contextmanager
def hosts_running(count: int = 1, *, edge_names: tuple[str, ...] = (), lan: bool = False) -> Iterator[Fleet]:
    """Boot `count` hosts from the cached image (building it first if needed); tear down on exit.

    `edge_names` (e.g. the site's domain) resolve to host 0 on every host. `lan`: the hosts share
    one private LAN instead of a direct link per pair.
    """
    with exclusive():
        yield from _hosts_running(count, edge_names, lan)


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """One rig at a time on this machine: namespaces and addresses are fixed (waits for the other)."""
    RUN_ROOT.mkdir(parents=True, exist_ok=True)
    with (RUN_ROOT / "lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("another test host run is active; waiting for it to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _clean_leftovers() -> None:
    """What a killed run left (we hold the lock, so nothing of ours is running): kill, remove."""
    for hierarchy in cgroups.HIERARCHIES:
        for folder in hierarchy.glob("hotgigs-testhost*"):
            say(f"removing leftovers of an earlier run: {folder}")
            _kill_all(folder)
            cgroups.remove([folder])
    for old_run in RUN_ROOT.glob("run-*"):
        shutil.rmtree(old_run, ignore_errors=True)


def _hosts_running(count: int, edge_names: tuple[str, ...], lan: bool) -> Iterator[Fleet]:
    _clean_leftovers()
    image = ensure_image()
    folder = RUN_ROOT / f"run-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    key = folder / "id_ed25519"
    check(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hotgigs-testhost", "-f", str(key)])
    hosts = [TestHost(n=n, folder=folder / f"testhost{n}", key=key) for n in range(count)]
    fleet = Fleet(folder=folder, key=key, hosts=hosts, peer_links={}, lan=lan)
    started = time.monotonic()
    try:
        for host in hosts:
            network.create(host.n)
        if lan:
            network.create_lan(count)
        else:
            for a in range(count):
                for b in range(a + 1, count):
                    fleet.peer_links[(a, b)] = network.connect(a, b)
        lines = host_names_lines(count, edge_names)
        for host in hosts:
            host.folder.mkdir()
            host.unpack(image, lines)
            host.boot(image)
        for host in hosts:
            host.wait_ready()
        say(f"{count} host(s) up in {time.monotonic() - started:.1f} s (unpack + network + boot)")
        yield fleet
    finally:
        say("tearing the test hosts down")
        for host in hosts:
            try:
                host.stop()
            finally:
                network.delete(host.n)
        network.delete_lan()
        shutil.rmtree(folder, ignore_errors=True)


def describe(fleet: Fleet) -> str:
    """How to reach the hosts by hand."""
    return "\n".join(f"  ssh {shlex.join(host.ssh_options())} root@{host.address}" for host in fleet.hosts)
