"""The Debian 12 image: a never-booted rootfs as a zstd tarball plus a local flat apt repo.

Built once and kept under the cache folder, keyed on a hash of everything that goes in (the
package lists and this module's build version), so a changed list builds a new image:

    <cache>/<key>/rootfs.tar.zst    the root filesystem (systemd, sshd, python3; apt points at
                                    the local repo only, its lists fresh, apt timers masked)
    <cache>/<key>/repo/             every .deb the playbooks install, with Packages
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.testhost import cgroups
from tests.deploy.testhost.procs import run, say

BUILD_VERSION = "1"
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
SUITE = "bookworm"
REPO_MOUNT = "/srv/hotgigs-repo"

# In the image itself: what a fresh cloud VM has, plus what Ansible needs to manage it.
BASE_PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "libpam-systemd", "openssh-server", "python3",
    "python3-apt", "sudo", "iproute2", "ca-certificates", "openssl", "procps", "less",
)
# In the local repo: every package a role installs (and what the modules they use need).
REPO_PACKAGES = (
    "ca-certificates", "chrony", "curl", "logrotate", "nftables", "python3-venv", "python3-setuptools",
    "python3-packaging", "acl",
    "postgresql", "python3-psycopg2", "redis-server", "nginx", "openssl",
    "prometheus", "prometheus-node-exporter", "prometheus-postgres-exporter", "prometheus-redis-exporter",
    "prometheus-blackbox-exporter", "prometheus-alertmanager", "certbot", "unattended-upgrades", "pgbackrest",
    "systemd-journal-remote",
    # Not installed by a role: Let's Encrypt's test CA, which the ACME deploy test runs on the edge.
    "pebble",
)


def cache_root() -> Path:
    """HOTGIGS_TESTHOST_CACHE, else /var/cache/hotgigs-testhost."""
    return Path(os.environ.get("HOTGIGS_TESTHOST_CACHE", "/var/cache/hotgigs-testhost"))


def image_key() -> str:
    """A short hash of everything that goes into the image."""
    text = "\n".join([BUILD_VERSION, SUITE, MIRROR, *BASE_PACKAGES, "--", *REPO_PACKAGES])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Image:
    """A built image: where its tarball and apt repo are."""

    folder: Path

    @property
    def tarball(self) -> Path:
        return self.folder / "rootfs.tar.zst"

    @property
    def repo(self) -> Path:
        return self.folder / "repo"

    def ready(self) -> bool:
        return self.tarball.is_file() and (self.repo / "Packages").is_file()


def ensure_image() -> Image:
    """The cached image, built first when there is none for the current key."""
    image = Image(cache_root() / image_key())
    if image.ready():
        say(f"image {image.folder} (cached)")
        return image
    build(image)
    return image


def _nspawn(rootfs: Path, script: str, *, step: str, log: Path, binds: tuple[str, ...] = ()) -> None:
    """Run a shell script inside the (not booted) rootfs, with the host's network."""
    folders = cgroups.create(f"hotgigs-testhost-build-{os.getpid()}")
    try:
        cmd = [*cgroups.enter_command(folders), "systemd-nspawn", "-q", "--register=no", "--keep-unit",
               "-D", str(rootfs), "--pipe", *binds,
               "sh", "-euxc", script]
        run(cmd, step=step, log=log)
    finally:
        cgroups.remove(folders)


def build(image: Image) -> None:
    """debootstrap, upgrade, download the repo's packages, point apt at the repo, tar it up."""
    say(f"building the Debian 12 image in {image.folder} (3-4 minutes; log: {image.folder}/build.log)")
    work = image.folder.with_name(image.folder.name + ".building")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "build.log"
    rootfs, repo = work / "rootfs", work / "repo"
    repo.mkdir()
    run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", SUITE, str(rootfs),
         MIRROR],
        step="debootstrap", log=log)
    (rootfs / "etc/apt/sources.list").write_text(
        f"deb {MIRROR} {SUITE} main\ndeb {MIRROR} {SUITE}-updates main\n"
        f"deb {SECURITY_MIRROR} {SUITE}-security main\n")
    _nspawn(rootfs, "export DEBIAN_FRONTEND=noninteractive; apt-get update -q; apt-get -y -q dist-upgrade",
            step="apt-get dist-upgrade in the image", log=log)
    _nspawn(rootfs, "export DEBIAN_FRONTEND=noninteractive; apt-get -y -q clean; "
            f"apt-get install -y -q --download-only -o Dir::Cache::archives={REPO_MOUNT}/ "
            + " ".join(REPO_PACKAGES),
            step="download the playbooks' packages", log=log, binds=(f"--bind={repo}:{REPO_MOUNT}",))
    for leftover in (repo / "partial", repo / "lock"):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink(missing_ok=True)
    packages = subprocess.run(["dpkg-scanpackages", "-m", ".", "/dev/null"], cwd=repo, check=True,
                              capture_output=True).stdout
    (repo / "Packages").write_bytes(packages)
    say(f"local repo: {len(list(repo.glob('*.deb')))} packages")
    (rootfs / "etc/apt/sources.list").write_text(f"deb [trusted=yes] file:{REPO_MOUNT} ./\n")
    _configure(rootfs)
    # The lists now name only the local repo; back-dated so `cache_valid_time` refreshes them.
    _nspawn(rootfs, "apt-get update -q; apt-get -y -q clean; "
            "touch -h -d 2000-01-01 /var/lib/apt/lists /var/lib/apt/lists/*; "
            "rm -f /var/lib/apt/periodic/*stamp",
            step="point apt at the local repo", log=log, binds=(f"--bind-ro={repo}:{REPO_MOUNT}",))
    run(["tar", "-C", str(rootfs), "--numeric-owner", "--xattrs", "-I", "zstd -3 -T0", "-cf",
         str(work / "rootfs.tar.zst"), "."], step="pack the image", log=log)
    shutil.rmtree(rootfs)
    if image.folder.exists():
        shutil.rmtree(image.folder)
    work.rename(image.folder)
    say(f"image ready: {image.tarball} ({image.tarball.stat().st_size // 2**20} MB)")
    for stale in image.folder.parent.iterdir():
        if stale.is_dir() and stale != image.folder and not stale.name.endswith(".building"):
            say(f"removing the image of an older package list: {stale}")
            shutil.rmtree(stale)


def _configure(rootfs: Path) -> None:
    """Settings every test host shares: apt timers off, root may log in with a key only."""
    systemd = rootfs / "etc/systemd/system"
    for unit in ("apt-daily.timer", "apt-daily-upgrade.timer", "apt-daily.service",
                 "apt-daily-upgrade.service", "systemd-timesyncd.service"):
        link = systemd / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    sshd = rootfs / "etc/ssh/sshd_config.d"
    sshd.mkdir(parents=True, exist_ok=True)
    (sshd / "testhost.conf").write_text("PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                                        "UseDNS no\n")
    (rootfs / "etc/securetty").unlink(missing_ok=True)
    (rootfs / "etc/machine-id").write_text("")
