"""`make bench` / `python -m hotgigs.dev.bench`: the seed's endpoints under load.

Starts the stack on the embedded defaults in its own data folder (var/bench), seeds it once
(100,000 jobs, 20,000 candidates by default), then, for 1 worker process and for N:
  REST through Envoy   health, login, job search with distinct queries (uncached) and with
                       repeated ones (cached), job creation, application submission, analytics
                       dashboard; the cached search at 1, 20 and 100 jobs a page ("transcode
                       N jobs <size>"): Envoy's JSON printing cost by answer size
  REST via nginx+TLS   health, cached job search (the deploy template's 1 s edge micro-cache)
  native gRPC          health Check, cached job search (h2load, straight to the workers)
  fastapi              the same-run reference for the uncached search: a plain FastAPI +
                       uvicorn + async psycopg service (as many processes as workers, the
                       workers' pool size) running our search's SQL on the same database,
                       driven by the same distinct queries; its CPU is the 'ref' column
and with N workers a soak: 1,000 connections through nginx+TLS for 60 s. "health beside
attacks" (`--only attacks`) runs the resource attacks of issue 12 (quadratic list, XML bomb,
invalid UTF-8) beside health checks and prints health p50/p99, attack statuses and each
worker's peak RSS. Last, health and
cached search again on 1 worker with the RPC telemetry interceptors off (metrics, canonical
log line, tracing: HOTGIGS_RPC_TELEMETRY=off), which prices them. First it measures
the machine's ceiling, an Envoy answering every request itself, and prints every rate also as
a ratio to it. For each case: requests/s, p50/p95/p99, errors, the workers' peak RSS and the
CPU milliseconds per request of each process group the bench started (workers, Envoy,
PostgreSQL, Redis, nginx; utime+stime from /proc over the case, wrk and h2load excluded):
steadier than req/s on a shared machine.
wrk and h2load run on the same two cores as the stack: compare ratios across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx

from hotgigs.dev.bench import actors as bench_actors
from hotgigs.dev.bench import attacks, ceiling, cpu, loadgen, memory, reference, report, scripts, searches
from hotgigs.dev.bench.loadgen import Result
from hotgigs.dev.embedded import free_port


@dataclasses.dataclass(frozen=True)
class Options:
    seconds: float
    connections: int
    edge_connections: int
    only: tuple[str, ...]
    workdir: Path
    profile: Path | None = None
    cpu_roots: tuple[int, ...] = ()  # processes outside the bench's tree whose CPU counts too

    def wanted(self, name: str, path: str) -> bool:
        label = f"{name} {path}"
        return not self.only or any(part in label for part in self.only)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m hotgigs.dev.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs to seed (default 100000)")
    parser.add_argument("--candidates", type=int, default=20_000,
                        help="candidates to seed (default 20000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per case (default 10)")
    parser.add_argument("--connections", type=int, default=32,
                        help="connections per case (default 32)")
    parser.add_argument("--edge-connections", type=int, default=128,
                        help="connections for the cached search through nginx+TLS (default 128)")
    parser.add_argument("--workers", type=int, default=2,
                        help="also measure this many worker processes (default 2; 1 skips)")
    parser.add_argument("--soak-seconds", type=float, default=60.0,
                        help="length of the many-connections soak (default 60; 0 skips)")
    parser.add_argument("--soak-connections", type=int, default=1000,
                        help="connections of the soak (default 1000)")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run only cases whose 'name path' contains TEXT (repeatable), "
                             "e.g. --only 'search uncached' --only grpc")
    parser.add_argument("--profile", metavar="DIR",
                        help="also record a py-spy flame graph (SVG) of the first worker during "
                             "each REST case into DIR")
    parser.add_argument("--data-dir", default="var/bench", help="its own data folder (default var/bench)")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def raise_open_files_limit() -> None:
    """wrk, nginx and Envoy each need a descriptor per connection of the soak."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def measured(run: Callable[[], Result], cpu_roots: tuple[int, ...] = ()) -> Result:
    """Run one case and record the CPU each process group spent per request meanwhile
    (processes below the bench and below `cpu_roots`)."""
    with cpu.measure(cpu_roots) as used:
        result = run()
    result.cpu_ms = used.ms_per_request(result.requests)
    return result


def check_grpc(port: int) -> None:
    """One real call of each gRPC case first: h2load sees HTTP statuses, not gRPC ones."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from hotgigs.v1 import jobs_pb2, jobs_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        jobs_pb2_grpc.JobServiceStub(channel).SearchJobs(  # type: ignore[no-untyped-call]
            jobs_pb2.SearchJobsRequest(search="engineer", limit=20), timeout=30)


def grpc_cases(ports: list[int], options: Options, workers: int, suffix: str = "") -> Iterator[Result]:
    from grpc_health.v1 import health_pb2

    from hotgigs.v1 import jobs_pb2

    check_grpc(ports[0])
    cases = [("health", "/grpc.health.v1.Health/Check",
              health_pb2.HealthCheckRequest().SerializeToString()),
             ("search cached", "/hotgigs.v1.JobService/SearchJobs",
              jobs_pb2.SearchJobsRequest(search="engineer", limit=20).SerializeToString())]
    for name, method, message in cases:
        if options.wanted(name, "grpc"):
            urls = [f"http://127.0.0.1:{port}{method}" for port in ports]
            yield measured(functools.partial(
                loadgen.h2load_grpc, name + suffix, urls, message, seconds=options.seconds,
                connections=options.connections, workdir=options.workdir, workers=workers),
                options.cpu_roots)


def warm(base_url: str, **client_options: Any) -> None:
    """Fill the answer caches the 'cached' cases are about."""
    with httpx.Client(base_url=base_url, timeout=60, **client_options) as client:
        client.get("/api/health").raise_for_status()
        for word in scripts.CACHED_WORDS:
            client.get(f"/api/jobs?search={word}&limit=20").raise_for_status()


@contextlib.contextmanager
def profiling(options: Options, label: str) -> Iterator[None]:
    """py-spy on the first worker while the body runs (the whole case), when asked for."""
    if options.profile is None:
        yield
        return
    import shutil
    import subprocess

    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    options.profile.mkdir(parents=True, exist_ok=True)
    output = options.profile / f"{''.join(c if c.isalnum() else '_' for c in label)}.svg"
    recorder = subprocess.Popen(  # noqa: S603 - our tool, our arguments
        [spy, "record", "--nonblocking", "-r", "200", "-d", f"{options.seconds:.0f}",
         "-p", memory.worker_pids()[0], "-o", str(output)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        recorder.wait(60)


def uncached_script(workdir: Path, base_url: str, progress: Callable[[str], None]) -> tuple[str, int]:
    """The wrk script of the next "search uncached" case (`searches`: distinct searches, most of
    them full pages) and the length of its window (what it may send before the next case's)."""
    counts = searches.totals(base_url)
    plan = searches.plan(counts)
    start, length = searches.next_window(workdir, len(plan))
    progress(f"search uncached: {len(plan)} distinct searches, {searches.full_page_share(plan, counts):.0%}"
             f" of them full pages of {searches.LIMIT}; this case's window: {length} from {start}")
    return scripts.search_uncached(searches.rotated(plan, start)), length


def settle(base_url: str, seconds: float = 2.0) -> None:
    """Let the previous case's abandoned requests (wrk hangs up at its deadline; the workers
    finish what they started) drain before the next case starts."""
    time.sleep(seconds)
    httpx.get(f"{base_url}/api/health", timeout=30).raise_for_status()


# Cases repeated with the RPC telemetry interceptors (metrics, canonical log line, tracing) off.
TELEMETRY_CASES = ("health envoy", "search cached envoy", "health grpc", "search cached grpc")
TELEMETRY_OFF = " (telemetry off)"
#: Page sizes of the cached search measured for Envoy's transcoding cost by answer size (the
#: answer comes from the response cache, so the worker's share is small and steady).
TRANSCODE_LIMITS = (1, 20, 100)


@contextlib.contextmanager
def telemetry_off() -> Iterator[None]:
    """Workers started inside run without the telemetry interceptors (HOTGIGS_RPC_TELEMETRY=off)."""
    before = os.environ.get("HOTGIGS_RPC_TELEMETRY")
    os.environ["HOTGIGS_RPC_TELEMETRY"] = "off"
    try:
        yield
    finally:
        if before is None:
            del os.environ["HOTGIGS_RPC_TELEMETRY"]
        else:
            os.environ["HOTGIGS_RPC_TELEMETRY"] = before


def telemetry_off_options(options: Options) -> Options | None:
    """The telemetry-off phase's cases: those of TELEMETRY_CASES that --only also selects."""
    wanted = tuple(case for case in TELEMETRY_CASES if options.wanted(*case.rsplit(" ", 1)))
    return dataclasses.replace(options, only=wanted) if wanted else None


def phase(settings: Any, deps: Any, workers: int, options: Options, soak: tuple[float, int],
          progress: Callable[[str], None], suffix: str = "") -> list[Result]:
    """Every case against `workers` worker processes behind one Envoy and one nginx
    (`suffix` is added to every case's name)."""
    from hotgigs.dev import edge, stack
    from hotgigs.dev.workers import worker_processes
    from hotgigs.settings import Address

    run_settings = dataclasses.replace(
        settings, metrics_address=None, http_address=Address("127.0.0.1", free_port()),
        grpc_address=Address("127.0.0.1", 0), envoy_admin_address=Address("127.0.0.1", free_port()),
        data_dir=options.workdir / f"workers-{workers}")
    results: list[Result] = []
    with contextlib.ExitStack() as running:
        ports = running.enter_context(worker_processes(run_settings, deps, workers))
        running.enter_context(stack.envoy(run_settings, ports))
        envoy_url = f"http://{run_settings.http_address}"
        site = running.enter_context(edge.nginx(
            run_settings.data_dir / "nginx", [str(run_settings.http_address)],
            worker_processes="auto", worker_connections=max(4096, soak[1] * 2 + 256),
            access_log=False))
        warm(envoy_url)
        warm(site.https_url, verify=str(site.certificate))
        progress(f"{workers} worker(s): making bench accounts")
        actors = bench_actors.make(envoy_url, deps.database_url)

        def http_case(name: str, path: str, url: str, script: str, connections: int,
                      show_errors: bool = False) -> None:
            if options.wanted(name, path):
                settle(envoy_url)
                progress(f"{workers} worker(s): {name} via {path}, {connections} connections")
                with profiling(options, f"{name} {path} {workers}w"):
                    result = measured(lambda: loadgen.wrk(
                        name + suffix, path, url, script, seconds=options.seconds,
                        connections=connections, workdir=options.workdir, workers=workers,
                        show_errors=show_errors), options.cpu_roots)
                if result.requests:
                    progress(f"  {result.rate:.0f} req/s, {result.bytes_per_request:.0f} bytes a response "
                             "(headers included)")
                for error in result.first_errors:
                    progress(f"  {result.errors} errors; one was: {error}")
                results.append(result)

        conns = options.connections
        http_case("health", "envoy", f"{envoy_url}/api/health", scripts.plain_get(), conns)
        http_case("login", "envoy", envoy_url, scripts.login(actors.emails, bench_actors.PASSWORD), conns,
                  show_errors=True)
        uncached, window = "", 0
        if options.wanted("search uncached", "envoy") or options.wanted("search uncached", "fastapi"):
            # the same requests go to ours, then to the reference
            uncached, window = uncached_script(options.workdir, envoy_url, progress)
        http_case("search uncached", "envoy", envoy_url, uncached, conns, show_errors=True)
        if results and results[-1].name.startswith("search uncached") and results[-1].requests > window:
            progress(f"  it sent {results[-1].requests} requests, more than its window: the next "
                     "case may find some of its answers in the cache")
        if options.wanted("search uncached", "fastapi"):  # the same-run reference (reference_app)
            settle(envoy_url)
            progress(f"{workers} worker(s): search uncached, the FastAPI reference ({workers} process(es))")
            with reference.serve(deps.database_url, processes=workers, pool_size=settings.db_pool_size,
                                 max_overflow=settings.db_max_overflow,
                                 workdir=options.workdir / "reference") as reference_url:
                # Unmeasured first: each process fills its totals, as ours are already in Redis.
                loadgen.wrk("search uncached warm-up", "fastapi", reference_url,
                            uncached, seconds=2, connections=conns,
                            workdir=options.workdir, workers=workers)
                results.append(measured(lambda: loadgen.wrk(
                    "search uncached" + suffix, "fastapi", reference_url, uncached,
                    seconds=options.seconds, connections=conns, workdir=options.workdir,
                    workers=workers, show_errors=True), options.cpu_roots))
        http_case("search cached", "envoy", envoy_url, scripts.search_cached(), conns)
        for limit in TRANSCODE_LIMITS:  # Envoy's JSON printing by answer size (issue 17 item 6)
            if options.wanted(f"transcode {limit} jobs", "envoy"):
                size = len(httpx.get(f"{envoy_url}/api/jobs?search={scripts.CACHED_WORDS[0]}"
                                     f"&limit={limit}", timeout=30).content)
                http_case(f"transcode {limit} jobs {size / 1024:.0f}KiB", "envoy", envoy_url,
                          scripts.search_cached(limit), conns)
        http_case("job creation", "envoy", envoy_url,
                  scripts.create_job(actors.employer_token, actors.company_id), conns,
                  show_errors=True)
        http_case("application submission", "envoy", envoy_url,
                  scripts.submit_applications(actors.candidate_tokens, actors.open_job_ids), conns,
                  show_errors=True)
        http_case("analytics dashboard", "envoy", envoy_url,
                  scripts.dashboard(actors.candidate_tokens), conns, show_errors=True)
        if options.wanted("health beside attacks", "envoy"):
            settle(envoy_url)
            progress(f"{workers} worker(s): health beside attacks")
            attack_report = attacks.run(
                envoy_url, employer_token=actors.employer_token, company_id=actors.company_id,
                candidate_token=actors.candidate_tokens[0], seconds=options.seconds,
                workers=workers)
            print("\n".join(attack_report.lines()), flush=True)
            results.append(attack_report.health)
        http_case("health", "nginx+tls", f"{site.https_url}/api/health", scripts.plain_get(), conns)
        http_case("search cached", "nginx+tls", site.https_url, scripts.search_cached(),
                  options.edge_connections)
        progress(f"{workers} worker(s): native gRPC")
        results.extend(grpc_cases(ports, options, workers, suffix))
        soak_seconds, soak_connections = soak
        if soak_seconds > 0 and options.wanted("soak", "nginx+tls"):
            progress(f"{workers} worker(s): soak, {soak_connections} connections for {soak_seconds:.0f} s")
            results.append(measured(lambda: loadgen.wrk(
                f"soak: search cached, {soak_connections} conns", "nginx+tls", site.https_url,
                scripts.search_cached(), seconds=soak_seconds, connections=soak_connections,
                workdir=options.workdir, workers=workers), options.cpu_roots))
        rss = memory.workers_peak_rss_mb()
        for result in results:
            result.rss_mb = rss
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    workdir = Path(args.data_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    options = Options(args.seconds, args.connections, args.edge_connections, tuple(args.only), workdir,
                      Path(args.profile) if args.profile else None)
    raise_open_files_limit()
    # Settings for this run (the worker processes read them from the environment too).
    os.environ.update({
        "HOTGIGS_DATA_DIR": args.data_dir, "HOTGIGS_LOG_LEVEL": "WARNING",
        "HOTGIGS_LOG_FORMAT": "json", "HOTGIGS_ENVOY_ACCESS_LOG": "/dev/null",
        "RATE_LIMIT_PER_MINUTE": "1000000", "RATE_LIMIT_PER_HOUR": "10000000",
        "AUTH_RATE_LIMIT_PER_MINUTE": "1000000", "AUTH_RATE_LIMIT_PER_HOUR": "10000000",
        "HOTGIGS_METRICS_ADDRESS": "off"})

    from hotgigs import runtime
    from hotgigs.dev import seed, stack
    from hotgigs.settings import Settings
    from hotgigs.telemetry.logging import configure_logging

    def progress(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    settings = Settings.from_env()
    configure_logging(settings)
    marker = workdir / f"seeded-{args.jobs}-{args.candidates}"
    results: list[Result] = []
    with stack.dependencies(settings) as deps:
        runtime.migrate_to_head(deps)
        if not marker.exists():
            progress(f"seeding {args.jobs} jobs and {args.candidates} candidates (once)")
            seed.seed(deps.schema_owner_url, seed.SeedSize(companies=2000, jobs=args.jobs,
                                                       candidates=args.candidates,
                                                       applications=args.jobs // 2))
            marker.touch()
        removed = bench_actors.forget_earlier_runs(deps.schema_owner_url)
        progress(f"removed what earlier runs wrote: {removed['jobs']} jobs, {removed['users']} "
                 f"accounts, {removed['mail']} mails; vacuumed and analysed")
        postmaster = cpu.postmaster_pid(settings.data_dir / "postgres" / "pgdata")
        if postmaster is None:
            progress("PostgreSQL is not the embedded one: its CPU per request is not measured")
        options = dataclasses.replace(options, cpu_roots=(postmaster,) if postmaster else ())
        progress("the machine's ceiling: Envoy answering by itself")
        with ceiling.direct_response_envoy(workdir / "ceiling", free_port(), free_port()) as url:
            top = measured(lambda: loadgen.wrk(
                "ceiling (direct response)", "direct", f"{url}/", scripts.plain_get(),
                seconds=args.seconds, connections=args.connections, workdir=workdir))
        for workers in sorted({1, max(1, args.workers)}):
            last = workers == max(1, args.workers)
            results += phase(settings, deps, workers, options,
                             (args.soak_seconds if last else 0.0, args.soak_connections), progress)
        quiet = telemetry_off_options(options)
        if quiet is not None:
            progress("1 worker, telemetry interceptors off (their cost)")
            with telemetry_off():
                results += phase(settings, deps, 1, quiet, (0.0, 0), progress, TELEMETRY_OFF)
    everything = [top, *results]
    print(f"\n{args.jobs} jobs seeded; wrk/h2load 2 threads, {args.seconds:.0f} s per case, "
          f"all on this machine ({os.cpu_count()} cores); 'vs ceiling' = req/s / the ceiling's\n")
    print(report.table(everything, top))
    if args.json:
        Path(args.json).write_text(report.as_json(everything, top, {
            "jobs": args.jobs, "candidates": args.candidates, "seconds_per_case": args.seconds,
            "cpus": os.cpu_count()}))
        print(f"\nJSON: {args.json}")
    return 1 if any(result.errors for result in results if result.name.startswith("soak")) else 0


if __name__ == "__main__":
    sys.exit(main())
