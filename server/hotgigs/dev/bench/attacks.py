"""`make bench` case "health beside attacks" (issue 12): the resource attacks run concurrently
with /api/health checks through Envoy.

Attacks, each looping in its own threads for the case's length: a job with 100,000 distinct
skills (0.9 MB, under the body limit: the old quadratic de-duplication), 20,000 skills to
match-jobs, a 25 KB DOCX whose document.xml is 24 MB of `<a/>` (the XML bomb), and invalid UTF-8
in a query. Reported: health p50/p95/p99 and errors (any non-200 or transport error), the status
counts of every attack, and each worker's peak RSS. Done when: worker RSS < 300 MB, attacks
answered 4xx, health p99 < 1 s (reported, not asserted).
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import io
import statistics
import threading
import time
import zipfile
from collections.abc import Callable
from typing import Any

import httpx

from hotgigs.dev.bench import memory
from hotgigs.dev.bench.loadgen import Result

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HEALTH_THREADS = 4


def xml_bomb(megabytes: int = 24) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("word/document.xml", b'<w:document xmlns:w="http://schemas.openxml'
                         b'formats.org/wordprocessingml/2006/main"><w:body>'
                         + b"<a/>" * (megabytes * 1024 * 1024 // 4) + b"</w:body></w:document>")
    return out.getvalue()


@dataclasses.dataclass
class AttackReport:
    health: Result
    statuses: dict[str, collections.Counter[str]]
    worker_peak_rss_mb: dict[str, float]

    def lines(self) -> list[str]:
        p = self.health.percentiles_ms
        out = [f"health beside attacks ({self.health.workers} worker(s), "
               f"{self.health.seconds:.0f} s): {self.health.requests} health checks, "
               f"p50 {p[50]:.1f} ms, p99 {p[99]:.1f} ms, {self.health.errors} errors"]
        for name, counts in self.statuses.items():
            out.append(f"  attack {name}: " + ", ".join(f"{status} x{count}"
                                                      for status, count in sorted(counts.items())))
        out.append("  worker peak RSS: " + ", ".join(
            f"pid {pid} {mb:.0f} MB" for pid, mb in self.worker_peak_rss_mb.items()))
        return out


def _worker_peaks() -> dict[str, float]:
    peaks = {}
    for pid in memory.worker_pids():
        try:
            peaks[pid] = memory.status_kib(pid, "VmHWM") / 1024
        except OSError:
            continue
    return peaks


def run(envoy_url: str, *, employer_token: str, company_id: int, candidate_token: str,
        seconds: float, workers: int) -> AttackReport:
    bomb = base64.b64encode(xml_bomb()).decode()
    skills = [f"s{i}" for i in range(100_000)]  # 0.8 MB as JSON: under the 1 MiB limit
    employer = {"Authorization": f"Bearer {employer_token}"}
    candidate = {"Authorization": f"Bearer {candidate_token}"}
    attacks: dict[str, Callable[[httpx.Client], httpx.Response]] = {
        "job with 100k skills": lambda c: c.post("/api/jobs", headers=employer, json={
            "company_id": company_id, "title": "Attack", "description": "x" * 60,
            "employment_type": "full-time", "experience_level": "mid", "skills_required": skills}),
        "match-jobs with 20k skills": lambda c: c.post("/api/ai/match-jobs", headers=candidate,
                                                       json={"skills": skills[:20_000]}),
        "DOCX XML bomb": lambda c: c.post("/api/documents", headers=candidate, json={
            "filename": "cv.docx", "content_type": DOCX, "document_type": "resume",
            "content": bomb}),
        "invalid UTF-8 query": lambda c: c.get("/api/jobs?search=%ff%fe"),
    }
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    statuses: dict[str, collections.Counter[str]] = {name: collections.Counter() for name in attacks}
    latencies: list[float] = []
    health_errors = [0]

    def attack(name: str, send: Callable[[httpx.Client], Any]) -> None:
        with httpx.Client(base_url=envoy_url, timeout=60) as client:
            while time.monotonic() < deadline:
                try:
                    status = str(send(client).status_code)
                except httpx.HTTPError as error:
                    status = type(error).__name__
                with lock:
                    statuses[name][status] += 1

    def health() -> None:
        with httpx.Client(base_url=envoy_url, timeout=30) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    ok = client.get("/api/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    health_errors[0] += 0 if ok else 1
                time.sleep(0.01)

    threads = [threading.Thread(target=attack, args=item, daemon=True) for item in attacks.items()]
    threads += [threading.Thread(target=health, daemon=True) for _ in range(HEALTH_THREADS)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    elapsed = time.monotonic() - began
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    result = Result("health beside attacks", "envoy", len(latencies), health_errors[0], elapsed,
                    {50: cuts[49], 95: cuts[94], 99: cuts[98]}, HEALTH_THREADS, workers)
    peaks = _worker_peaks()
    result.rss_mb = sum(peaks.values())
    return AttackReport(result, statuses, peaks)
