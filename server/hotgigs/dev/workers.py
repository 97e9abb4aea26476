"""`hotgigs up --workers N`: separate `hotgigs serve` processes behind Envoy, restarted when
they die (production: systemd's hotgigs-api@N units do this)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping

import structlog

from hotgigs.dev.embedded import EmbeddedServerError, free_port
from hotgigs.runtime import Dependencies
from hotgigs.settings import Settings

log = structlog.get_logger(__name__)


WORKER_RESTART_FIRST_DELAY = 0.5  # seconds before restarting a worker that died
WORKER_RESTART_MAX_DELAY = 30.0  # the delay doubles while a worker keeps dying, up to this
WORKER_STABLE_SECONDS = 30.0  # a worker up this long restarts after the first delay again


class WorkerSupervisor:
    """`count` separate `hotgigs serve` processes (so both cores work despite the GIL) on
    consecutive ports from HOTGIGS_GRPC_ADDRESS, each with its own metrics port.

    A worker that exits while the stack runs (crash, SIGKILL, SIGTERM from outside) is
    restarted on its port after a backoff: 0.5 s, doubling up to 30 s while it keeps dying
    within 30 s of starting. Envoy's health checks take it out of rotation meanwhile. In
    production systemd's `Restart=` does the same for the hotgigs-api@N units.
    """

    def __init__(self, settings: Settings, deps: Dependencies, count: int, *,
                 extra_env: Mapping[str, str] | None = None, poll_interval: float = 0.2) -> None:
        self.settings = settings
        self.deps = deps
        base = settings.grpc_address.port
        self.ports = [base + number if base else free_port() for number in range(count)]
        self.extra_env = dict(extra_env or {})
        self.poll_interval = poll_interval
        self.processes: list[subprocess.Popen[bytes]] = []
        self.restarts = 0
        self._started_at: list[float] = []
        self._delays: list[float] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def _spawn(self, number: int) -> subprocess.Popen[bytes]:
        metrics_address = self.settings.metrics_address
        # The rest of the settings (JWT secret included) come from the same environment.
        env = {**os.environ, "DATABASE_URL": self.deps.database_url,
               "CACHE_REDIS_URL": self.deps.redis_url,
               **({"STATE_REDIS_URL": self.deps.state_redis_url} if self.deps.state_redis_url else {}),
               "HOTGIGS_PROXY_SECRET": self.settings.proxy_secret,
               "HOTGIGS_ENV": self.settings.environment,
               "HOTGIGS_GRPC_ADDRESS": f"{self.settings.grpc_address.host}:{self.ports[number]}",
               "HOTGIGS_METRICS_ADDRESS": f"{metrics_address.host}:{metrics_address.port + number}"
               if metrics_address else "off",
               **self.extra_env}
        return subprocess.Popen([sys.executable, "-m", "hotgigs.cli", "serve"], env=env)

    def start(self, *, wait: bool = True) -> None:
        """Start every worker and (`wait`) return once all answer SERVING."""
        for number in range(len(self.ports)):
            self.processes.append(self._spawn(number))
            self._started_at.append(time.monotonic())
            self._delays.append(WORKER_RESTART_FIRST_DELAY)
        if wait:
            for number in range(len(self.ports)):
                self.wait_ready(number)
        self._thread.start()
        log.info("workers_started", count=len(self.ports), ports=self.ports)

    def wait_ready(self, number: int, timeout: float = 60.0) -> None:
        """Block until worker `number` answers SERVING on gRPC health."""
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        from hotgigs.runtime import grpc_client_credentials

        port = self.ports[number]
        deadline = time.monotonic() + timeout
        target = f"{self.settings.grpc_address.host}:{port}"
        credentials = grpc_client_credentials(self.settings)
        with (grpc.insecure_channel(target) if credentials is None
              else grpc.secure_channel(target, credentials)) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                process = self.processes[number]  # a restart replaces it
                if process.poll() is not None and not self._thread.is_alive():
                    raise EmbeddedServerError(f"worker on port {port} exited with "
                                              f"{process.returncode}; see its output above")
                try:
                    status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(f"worker on port {port} did not answer SERVING "
                                              f"within {timeout}s")
                time.sleep(0.1)

    def pid(self, number: int) -> int:
        return self.processes[number].pid

    def next_restart_delay(self, number: int) -> float:
        """Seconds worker `number` would wait before its next restart."""
        return self._delays[number]

    def _watch(self) -> None:
        due: dict[int, float] = {}  # worker number -> when to restart it
        while not self._stopping.wait(self.poll_interval):
            now = time.monotonic()
            for number, process in enumerate(self.processes):
                if number in due:
                    if now >= due[number] and not self._stopping.is_set():
                        del due[number]
                        self.processes[number] = self._spawn(number)
                        self._started_at[number] = now
                        self.restarts += 1
                        log.info("worker_restarted", worker=number, port=self.ports[number],
                                 pid=self.processes[number].pid)
                    continue
                code = process.poll()
                if code is None:
                    continue
                if now - self._started_at[number] >= WORKER_STABLE_SECONDS:
                    self._delays[number] = WORKER_RESTART_FIRST_DELAY
                delay = self._delays[number]
                self._delays[number] = min(delay * 2, WORKER_RESTART_MAX_DELAY)
                due[number] = now + delay
                log.warning("worker_exited", worker=number, port=self.ports[number],
                            pid=process.pid, returncode=code,
                            signal=signal.Signals(-code).name if code < 0 else None,
                            restart_in_seconds=delay)

    def stop(self) -> None:
        """SIGTERM every worker (each drains) and wait; no more restarts."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        for process in self.processes:
            process.terminate()
        wait = self.settings.drain_delay_seconds + self.settings.shutdown_grace_seconds + 10
        for process in self.processes:
            try:
                process.wait(wait)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def supervised_workers(settings: Settings, deps: Dependencies, count: int, *,
                       extra_env: Mapping[str, str] | None = None) -> Iterator[WorkerSupervisor]:
    """A started `WorkerSupervisor` (all workers SERVING); every worker drained on exit."""
    supervisor = WorkerSupervisor(settings, deps, count, extra_env=extra_env)
    try:
        supervisor.start()
        yield supervisor
    finally:
        supervisor.stop()


@contextlib.contextmanager
def worker_processes(settings: Settings, deps: Dependencies, count: int) -> Iterator[list[int]]:
    """`count` supervised `hotgigs serve` processes; yields their gRPC ports once all answer
    SERVING; SIGTERM (drain) on exit."""
    with supervised_workers(settings, deps, count) as supervisor:
        yield supervisor.ports
