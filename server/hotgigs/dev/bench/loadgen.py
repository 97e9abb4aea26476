"""Real load generators, driven as subprocesses: wrk (HTTP/1.1, Lua scripts) and h2load
(HTTP/2, used for native gRPC). Both are Debian packages installed by `make setup`."""

from __future__ import annotations

import dataclasses
import re
import shutil
import struct
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PERCENTILES = (50, 95, 99)

WRK_SUMMARY = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.status + summary.errors.timeout
  io.write(string.format("HG requests %d\\n", summary.requests))
  io.write(string.format("HG seconds %.6f\\n", summary.duration / 1e6))
  io.write(string.format("HG errors %d\\n", errors))
  io.write(string.format("HG bytes %d\\n", summary.bytes))
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("HG p%d %.3f\\n", p, latency:percentile(p) / 1000))
  end
end
"""

# Prints the first failed answer of each wrk thread, so an error count comes with its reason.
# (A response hook makes wrk parse every answer: only the cases that write use it.)
WRK_FIRST_ERROR = """
local reported = false
response = function(status, headers, body)
  if status >= 400 and not reported then
    reported = true
    io.write(string.format("HG-ERROR %d %s\\n", status, string.sub(string.gsub(body, "%s+", " "), 1, 300)))
  end
end
"""


@dataclasses.dataclass
class Result:
    """One measured case."""

    name: str
    path: str  # how the requests travelled: "envoy", "nginx+tls", "grpc", "direct"
    requests: int
    errors: int
    seconds: float
    percentiles_ms: dict[int, float]
    connections: int
    workers: int = 0
    rss_mb: float | None = None
    cpu_ms: dict[str, float] = dataclasses.field(default_factory=dict)  # per request, by group
    first_errors: list[str] = dataclasses.field(default_factory=list)
    bytes_read: int = 0  # responses with their headers (wrk only)

    @property
    def bytes_per_request(self) -> float:
        return self.bytes_read / self.requests if self.requests else 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


class LoadGeneratorError(RuntimeError):
    """The load generator is missing or failed; the message says which and why."""


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise LoadGeneratorError(f"{name} is not installed: run `make setup` (Debian package {package})")
    return found


def wrk(name: str, path: str, url: str, script: str, *, seconds: float, connections: int,
        workdir: Path, threads: int = 2, workers: int = 0, show_errors: bool = False) -> Result:
    """Closed-loop HTTP load on `url` for `seconds`; `script` is Lua without the summary hook.
    With `show_errors`, the first failed answer per thread is kept in `first_errors`."""
    script_path = workdir / f"{re.sub(r'[^a-z0-9]+', '_', f'{name} {path} {workers}'.lower())}.lua"
    script_path.write_text(script + WRK_SUMMARY + (WRK_FIRST_ERROR if show_errors else ""))
    result = subprocess.run(  # noqa: S603 - our tool, our arguments
        [_tool("wrk", "wrk"), f"-t{threads}", f"-c{connections}", f"-d{seconds:.0f}s",
         "--timeout", "10s", "-s", str(script_path), url],
        capture_output=True, text=True, check=False, timeout=seconds + 120)
    values = dict(line.split()[1:3] for line in result.stdout.splitlines() if line.startswith("HG "))
    if result.returncode != 0 or "requests" not in values:
        raise LoadGeneratorError(f"wrk failed on {name} ({url}): {result.stderr.strip() or result.stdout}")
    first_errors = [line.removeprefix("HG-ERROR ") for line in result.stdout.splitlines()
                    if line.startswith("HG-ERROR ")]
    return Result(name, path, int(values["requests"]), int(values["errors"]),
                  float(values["seconds"]), {q: float(values[f"p{q}"]) for q in PERCENTILES},
                  connections, workers, first_errors=first_errors, bytes_read=int(values.get("bytes", 0)))


def grpc_frame(message: bytes) -> bytes:
    """One uncompressed gRPC length-prefixed message."""
    return struct.pack(">?I", False, len(message)) + message


def _percentiles(durations_ms: list[float]) -> dict[int, float]:
    if not durations_ms:
        return dict.fromkeys(PERCENTILES, 0.0)
    ordered = sorted(durations_ms)
    return {q: ordered[min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1)] for q in PERCENTILES}


def h2load_grpc(name: str, urls: list[str], message: bytes, *, seconds: float, connections: int,
                workdir: Path, workers: int = 0) -> Result:
    """Native gRPC load: one h2load per URL (one per worker), the connections shared out,
    each connection one request at a time. h2load sees HTTP status only, so a gRPC error in the
    trailers is not counted here: the caller checks one call with a real gRPC client first."""
    body = workdir / f"{re.sub(r'[^a-z0-9]+', '_', name.lower())}.grpc"
    body.write_bytes(grpc_frame(message))
    per_url = max(1, connections // len(urls))

    def run(index_url: tuple[int, str]) -> tuple[str, Path]:
        index, url = index_url
        log = workdir / f"h2load-{index}.log"
        log.unlink(missing_ok=True)
        result = subprocess.run(  # noqa: S603 - our tool, our arguments
            [_tool("h2load", "nghttp2-client"), "-t1", f"-c{per_url}", "-m1", f"-D{seconds:.0f}",
             "--warm-up-time=1", "-d", str(body), "-H", "content-type: application/grpc",
             "-H", "te: trailers", f"--log-file={log}", url],
            capture_output=True, text=True, check=False, timeout=seconds + 120)
        if result.returncode != 0:
            raise LoadGeneratorError(f"h2load failed on {name} ({url}): {result.stderr.strip()}")
        return result.stdout, log

    with ThreadPoolExecutor(len(urls)) as pool:
        outputs = list(pool.map(run, enumerate(urls)))
    requests = errors = 0
    durations: list[float] = []
    elapsed = 0.0
    for stdout, log in outputs:
        match = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded", stdout)
        finished = re.search(r"finished in ([\d.]+)(m?s)", stdout)
        if match is None or finished is None:
            raise LoadGeneratorError(f"h2load printed no summary for {name}: {stdout}")
        requests += int(match.group(2))
        errors += int(match.group(2)) - int(match.group(3))
        elapsed = max(elapsed, float(finished.group(1)) / (1000 if finished.group(2) == "ms" else 1))
        for line in log.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) >= 3:
                durations.append(int(fields[2]) / 1000)
    return Result(name, "grpc", requests, errors, elapsed, _percentiles(durations), connections,
                  workers)
