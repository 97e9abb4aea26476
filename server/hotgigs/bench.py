"""`make bench` (first cut): job-search latency on a seeded database, through Envoy.

Starts the stack on the embedded defaults in its own data folder (var/bench), seeds it once
(100,000 jobs and 20,000 candidates by default), then measures with closed-loop HTTP clients:
  health               GET /api/health (the baseline of this machine and path)
  search uncached      GET /api/jobs with a distinct query per request (always a cache miss)
  search cached        GET /api/jobs with a handful of repeated queries (answer cache hits)
and prints requests/s, p50/p95/p99 and errors per case, plus each rate as a ratio to the
health baseline measured in the same run. The load generator is wrk (Debian package) on the
same machine, so it competes for the same two cores; compare ratios across runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from hotgigs.embedded import free_port


@dataclasses.dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    percentiles_ms: dict[int, float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


WRK_DONE = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.status + summary.errors.timeout
  io.write(string.format("HG requests %d\\n", summary.requests))
  io.write(string.format("HG seconds %.6f\\n", summary.duration / 1e6))
  io.write(string.format("HG errors %d\\n", errors))
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("HG p%d %.3f\\n", p, latency:percentile(p) / 1000))
  end
end
"""

HEALTH_LUA = WRK_DONE
UNCACHED_LUA = """
local words = {"engineer", "developer", "data", "python", "manager", "senior", "analyst",
               "cloud", "designer", "sales", "nurse", "security", "react", "kubernetes", "finance"}
local cities = {"Berlin", "London", "Paris", "Madrid", "Austin", "Toronto", "Sydney", "Remote"}
local counter = 0
function setup(thread) thread:set("id", counter); counter = counter + 1 end
function init(args) n = id * 1000003 end
request = function()
  n = n + 1
  local path = string.format("/api/jobs?search=%s&location=%s&offset=%d&limit=20",
    words[n % #words + 1], cities[math.floor(n / #words) % #cities + 1], n % 997)
  return wrk.format("GET", path)
end
""" + WRK_DONE
CACHED_LUA = """
local words = {"engineer", "developer", "data", "python"}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/jobs?search=" .. words[n % #words + 1] .. "&limit=20")
end
""" + WRK_DONE


def run_case(name: str, base_url: str, script: str, *, seconds: float, connections: int,
             workdir: Path) -> Result:
    """Load `base_url` with wrk (2 threads) and the Lua `script`; parse its summary."""
    script_path = workdir / f"{''.join(c if c.isalnum() else '_' for c in name)}.lua"
    script_path.write_text(script)
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: run `make setup` (Debian package wrk)")
    output = subprocess.run(  # noqa: S603 - our tool, our arguments
        [wrk, "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "-s", str(script_path),
         f"{base_url}/api/health" if name.startswith("health") else base_url],
        capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    values = dict(line.split()[1:3] for line in output.splitlines() if line.startswith("HG "))
    requests = int(values["requests"])
    return Result(name, requests, int(values["errors"]), float(values["seconds"]),
                  {q: float(values[f"p{q}"]) for q in (50, 95, 99)})


def report(results: list[Result], baseline: Result) -> str:
    lines = [f"{'case':<28} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
             f"{'errors':>7} {'vs health':>9}"]
    for result in results:
        ratio = result.rate / baseline.rate if baseline.rate else 0.0
        p = result.percentiles_ms
        lines.append(f"{result.name:<28} {result.rate:>8.0f} {p[50]:>8.2f} {p[95]:>8.2f} "
                     f"{p[99]:>8.2f} {result.errors:>7} {ratio:>9.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotgigs.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--candidates", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="per case (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2,
                        help="also measure this many worker processes (default 2; 1 skips)")
    parser.add_argument("--data-dir", default="var/bench")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    from hotgigs import seed, stack
    from hotgigs.settings import Address, Settings

    http_port, grpc_port, admin_port = free_port(), free_port(), free_port()
    os.environ.update({
        "HOTGIGS_DATA_DIR": args.data_dir, "HOTGIGS_LOG_LEVEL": "WARNING",
        "HOTGIGS_HTTP_ADDRESS": f"127.0.0.1:{http_port}",
        "HOTGIGS_GRPC_ADDRESS": f"127.0.0.1:{grpc_port}",
        "HOTGIGS_ENVOY_ADMIN_ADDRESS": f"127.0.0.1:{admin_port}",
        "HOTGIGS_ENVOY_ACCESS_LOG": "/dev/null", "RATE_LIMIT_PER_MINUTE": "1000000",
        "RATE_LIMIT_PER_HOUR": "10000000", "HOTGIGS_LOG_FORMAT": "json",
        "HOTGIGS_METRICS_ADDRESS": f"127.0.0.1:{free_port()}"})
    from hotgigs.telemetry.logging import configure_logging

    settings = Settings.from_env()
    configure_logging(settings)
    marker = Path(args.data_dir) / f"seeded-{args.jobs}-{args.candidates}"
    with stack.dependencies(settings) as deps:
        stack.migrate_to_head(deps)
        if not marker.exists():
            print(f"seeding {args.jobs} jobs and {args.candidates} candidates (once)...",
                  file=sys.stderr)
            seed.seed(deps.database_url, seed.SeedSize(companies=2000, jobs=args.jobs,
                                                       candidates=args.candidates,
                                                       applications=args.jobs // 2))
            marker.touch()
        with stack.grpc_service(settings, deps) as server, stack.envoy(settings, server.port):
            base = f"http://127.0.0.1:{http_port}"
            httpx.get(f"{base}/api/health", timeout=10).raise_for_status()
            for word in ("engineer", "developer", "data", "python"):  # warm the cache
                httpx.get(f"{base}/api/jobs?search={word}&limit=20", timeout=30)
            cases = [("health", HEALTH_LUA), ("search uncached", UNCACHED_LUA),
                     ("search cached", CACHED_LUA)]
            workdir = Path(args.data_dir)
            results = [run_case(name, base, script, seconds=args.seconds,
                                connections=args.connections, workdir=workdir)
                       for name, script in cases]
        # The same health case on a second worker without the telemetry interceptors (canonical
        # log line, metrics, trace context): their cost per request.
        bare = dataclasses.replace(
            settings, rpc_telemetry=False, metrics_address=None,
            http_address=Address("127.0.0.1", free_port()),
            grpc_address=Address("127.0.0.1", free_port()),
            envoy_admin_address=Address("127.0.0.1", free_port()),
            data_dir=Path(args.data_dir) / "bare")
        with stack.grpc_service(bare, deps) as server, stack.envoy(bare, server.port):
            bare_base = f"http://{bare.http_address}"
            httpx.get(f"{bare_base}/api/health", timeout=10).raise_for_status()
            results.append(run_case("health, no telemetry", bare_base, HEALTH_LUA,
                                    seconds=args.seconds, connections=args.connections,
                                    workdir=workdir))
        # Both cores: the same cases against N worker processes behind one Envoy.
        if args.workers > 1:
            multi = dataclasses.replace(
                settings, metrics_address=None, http_address=Address("127.0.0.1", free_port()),
                grpc_address=Address("127.0.0.1", 0),
                envoy_admin_address=Address("127.0.0.1", free_port()),
                data_dir=Path(args.data_dir) / "multi")
            with stack.worker_processes(multi, deps, args.workers) as ports, \
                    stack.envoy(multi, ports):
                multi_base = f"http://{multi.http_address}"
                httpx.get(f"{multi_base}/api/health", timeout=10).raise_for_status()
                for name, script in cases:
                    results.append(run_case(f"{name} ({args.workers} workers)", multi_base,
                                            script, seconds=args.seconds,
                                            connections=args.connections, workdir=workdir))
    print(f"\n{args.jobs} jobs, wrk 2 threads x {args.connections} connections, "
          f"{args.seconds:.0f} s per case, REST through Envoy to 1 worker unless noted, "
          "same machine\n")
    print(report(results, results[0]))
    if args.json:
        Path(args.json).write_text(json.dumps([{
            "case": r.name, "rps": round(r.rate, 1), "p50_ms": r.percentiles_ms[50],
            "p95_ms": r.percentiles_ms[95], "p99_ms": r.percentiles_ms[99], "errors": r.errors,
            "ratio_to_health": round(r.rate / results[0].rate, 3)} for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
