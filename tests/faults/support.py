"""Load loops, waiting and stack helpers for the fault-injection tests."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from hotgigs.dev import stack
from hotgigs.dev.embedded import free_port
from hotgigs.settings import Address, Settings
from tests import factories
from tests.support.rest import bearer
from tests.support.servers import RunningEnvoy, make_settings

JWT_SECRET = "test-jwt-secret-0123456789-0123456789-abcdef"
PROXY_SECRET = "test-proxy-secret-0123456789"


def fault_settings(data_dir: Path, **overrides: object) -> Settings:
    """Test settings with quick health checks and drains, and limits that load never hits."""
    values: dict[str, object] = {
        "rate_limit_per_minute": 1_000_000, "rate_limit_per_hour": 1_000_000,
        "auth_rate_limit_per_minute": 1_000_000, "auth_rate_limit_per_hour": 1_000_000,
        "envoy_health_check_interval_seconds": 0.25, "drain_delay_seconds": 1.0,
        "metrics_address": None, "jwt_secret_key": JWT_SECRET, "proxy_secret": PROXY_SECRET,
    }
    values.update(overrides)
    return make_settings(data_dir, **values)


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@contextlib.contextmanager
def envoy_for(settings: Settings, ports: Sequence[int], workdir: Path) -> Iterator[RunningEnvoy]:
    """The application's Envoy in front of `ports`, on free loopback ports."""
    access_log = workdir / "access.log"
    local = dataclasses.replace(
        settings, data_dir=workdir, envoy_access_log=str(access_log),
        http_address=Address("127.0.0.1", free_port()),
        envoy_admin_address=Address("127.0.0.1", free_port()))
    with stack.envoy(local, list(ports)) as process:
        yield RunningEnvoy(process, f"http://{local.http_address}", process.config_path, access_log)


def healthy_upstreams(envoy: RunningEnvoy) -> int:
    """How many workers Envoy's active health checks currently pass."""
    clusters = httpx.get(f"{envoy.admin_url}/clusters?format=json", timeout=5).json()
    count = 0
    for cluster in clusters.get("cluster_statuses", []):
        if cluster["name"] != "hotgigs_grpc":
            continue
        for host in cluster.get("host_statuses", []):
            flags = host.get("health_status", {})
            if flags.get("eds_health_status") == "HEALTHY" and not any(
                    value is True for key, value in flags.items() if key.startswith("failed")):
                count += 1
    return count


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One request of a load loop: what, when (monotonic) and how it ended."""

    label: str
    started: float
    finished: float
    status: int | None  # None: no HTTP answer at all (timeout, connection error)
    body: str = ""
    retry_after: str | None = None
    value: Any = None  # what the request produced (e.g. the id of a created row)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


Request = Callable[[httpx.Client, int], tuple[str, httpx.Response, Any]]


class Load:
    """Threads that each run `request(client, n)` in a loop until stopped, recording every
    outcome. `request` returns (label, response, value)."""

    def __init__(self, base_url: str, requests: Sequence[Request], *, timeout: float = 10.0,
                 pause: float = 0.005) -> None:
        self.base_url = base_url
        self.requests = requests
        self.timeout = timeout
        self.pause = pause
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._counter = itertools.count()
        self._threads = [threading.Thread(target=self._run, args=(request,), daemon=True)
                         for request in requests]

    def _run(self, request: Request) -> None:
        with httpx.Client(base_url=self.base_url, timeout=self.timeout) as client:
            while not self._stop.is_set():
                number = next(self._counter)
                started = time.monotonic()
                try:
                    label, response, value = request(client, number)
                    outcome = Outcome(label, started, time.monotonic(), response.status_code,
                                      "" if response.is_success else response.text[:300],
                                      response.headers.get("retry-after"), value)
                except httpx.HTTPError as error:
                    outcome = Outcome(type(error).__name__, started, time.monotonic(), None,
                                      str(error)[:300])
                with self._lock:
                    self.outcomes.append(outcome)
                time.sleep(self.pause)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)

    def run_for(self, seconds: float) -> None:
        """Let the load run for a while (the load is what is measured, not the time)."""
        time.sleep(seconds)

    def wait_for_requests(self, count: int, timeout: float = 30.0) -> None:
        """Wait until `count` more requests have finished."""
        target = len(self.snapshot()) + count
        assert wait_until(lambda: len(self.snapshot()) >= target, timeout), \
            f"load stalled at {len(self.snapshot())} requests"


def summary(outcomes: Sequence[Outcome]) -> str:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        key = f"{outcome.label} {outcome.status}"
        counts[key] = counts.get(key, 0) + 1
    return json.dumps(dict(sorted(counts.items())))


def employer_with_job(rest: httpx.Client) -> dict[str, Any]:
    """A company user with a company and one published job (`job_id`)."""
    account, job = factories.owner_with_job(rest, company_name=f"Fault Co {uuid.uuid4().hex[:6]}")
    account["job_id"] = job["id"]
    return account


def get_job(job_id: int) -> Request:
    def request(client: httpx.Client, number: int) -> tuple[str, httpx.Response, Any]:
        return "GET job", client.get(f"/api/jobs/{job_id}"), None
    return request


def search_jobs(company_id: int) -> Request:
    def request(client: httpx.Client, number: int) -> tuple[str, httpx.Response, Any]:
        return "GET search", client.get("/api/jobs", params={"company_id": company_id,
                                                             "search": "engineer"}), None
    return request


def job_payload(employer: dict[str, Any], title: str) -> dict[str, Any]:
    return {"company_id": employer["company_id"], "title": title,
            "description": "A job created while a fault was injected. " * 3,
            "requirements": "Python and SQL.", "location": "Berlin, Germany",
            "employment_type": "full-time", "experience_level": "senior",
            "salary_min": 70000, "salary_max": 90000, "currency": "EUR",
            "skills_required": ["Python"]}


def create_jobs(employer: dict[str, Any], prefix: str) -> Request:
    """POST /api/jobs with a unique title per request; the value is the title."""
    def request(client: httpx.Client, number: int) -> tuple[str, httpx.Response, Any]:
        title = f"{prefix} {number}"
        response = client.post("/api/jobs", headers={**bearer(employer),
                                                     "Idempotency-Key": uuid.uuid4().hex},
                               json=job_payload(employer, title))
        return "POST job", response, title
    return request
