"""`python -m hotgigs.dev.bench.scale` (`make bench` runs it after the load cases; not part of
`make test`): what one public job search costs as the number of jobs grows.

For each size (100,000 and 1,000,000 jobs by default) it seeds its own database once (a data
folder per size under --data-dir, kept for re-runs), then for a common, a medium and a rare
search (`WORDS`) and page 1 (offset 0), page 10 (offset 180) and page 10 reached by cursor:
  page ms    database time of the page query: EXPLAIN (ANALYZE, TIMING OFF) planning +
             execution of the statement `jobs.search.search` runs first, median of `--repeat`
  total ms   the same for the statements it runs after the page when no total is cached (the
             first, uncached total); "-" when the page itself settles the total
  matches    the search's active matches (an exact count, for reference)
  total      what the search answers (with "+" when it is a lower bound)
  plan       the page query's first scan node (which index PostgreSQL chose)
  rest p50   REST through Envoy (2 workers), every cache cold: the jobs generation is bumped
             before each call, so neither the answer nor the total is cached
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa

WORDS = (("common", "engineer"), ("medium", "python"), ("rare", "pharmacist kafka"))
LIMIT = 20
PAGES = (("1", 0, False), ("10", 180, False), ("10 cursor", 180, True))
GENERATION = "hg:jobsearch:generation"


@dataclasses.dataclass
class Row:
    jobs: int
    kind: str
    word: str
    page: str
    page_ms: float
    total_ms: float | None
    matches: int
    total: str
    plan: str
    rest_ms: float | None = None


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m hotgigs.dev.bench.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000",
                        help="numbers of jobs, comma-separated (default 100000,1000000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for REST (default 2)")
    parser.add_argument("--no-rest", action="store_true", help="database figures only")
    parser.add_argument("--data-dir", default="var/bench-scale",
                        help="its own data folders, one per size (default var/bench-scale)")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


class Capture:
    """The statements (SQL and parameters) a block runs on `engine`."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.engine = engine

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        self.statements.append((statement, parameters))

    @contextlib.contextmanager
    def running(self) -> Iterator[list[tuple[str, Any]]]:
        self.statements = []
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        try:
            yield self.statements
        finally:
            sa.event.remove(self.engine, "before_cursor_execute", self._record)


def _scan(plan: dict[str, Any]) -> str:
    """The first scan node of a JSON plan, e.g. 'Index Scan ix_jobs_...'."""
    if "Scan" in plan["Node Type"] and plan.get("Relation Name") == "jobs":
        indexes = [plan.get("Index Name")] + [child.get("Index Name")
                                               for child in plan.get("Plans", ())]
        return " ".join(filter(None, (plan["Node Type"], *indexes)))
    for child in plan.get("Plans", ()):
        found = _scan(child)
        if found:
            return found
    return ""


def explain(conn: psycopg.Connection[Any], statement: str, parameters: Any,
            repeat: int) -> tuple[float, str]:
    """Median planning + execution ms of EXPLAIN (ANALYZE, TIMING OFF), and the scan chosen."""
    times, scan = [], ""
    for _ in range(repeat):
        (document,), = conn.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {statement}",
                                    parameters, prepare=False).fetchall()
        result = (json.loads(document) if isinstance(document, str) else document)[0]
        times.append(result["Planning Time"] + result["Execution Time"])
        scan = _scan(result["Plan"]) or result["Plan"]["Node Type"]
    return statistics.median(times), scan


def _conninfo(database_url: str) -> str:
    from hotgigs.db import normalise_database_url

    return sa.make_url(normalise_database_url(database_url)).set(
        drivername="postgresql").render_as_string(hide_password=False)


def measure_database(database_url: str, jobs: int, repeat: int) -> list[Row]:
    """Page and total database ms of each (word, page), the search's own statements."""
    from hotgigs.db import Database
    from hotgigs.jobs import search

    database = Database(database_url, pool_size=1)
    capture = Capture(database.engine)
    now = dt.datetime.now(dt.UTC)
    rows: list[Row] = []
    with psycopg.connect(_conninfo(database_url), autocommit=True) as raw, \
            database.read_connection() as connection:
        for kind, word in WORDS:
            matches = int(raw.execute(
                "SELECT count(*) FROM jobs WHERE status = 'active' AND search_vector @@ "
                "websearch_to_tsquery('english', %s)", (word,)).fetchone()[0])  # type: ignore[index]
            for page, offset, by_cursor in PAGES:
                raw_params: dict[str, Any] = {"search": word, "limit": LIMIT, "offset": offset}
                if by_cursor:
                    before = search.search(connection, search.validate(
                        {"search": word, "limit": LIMIT, "offset": offset - LIMIT}), now=now)
                    raw_params = {"search": word, "limit": LIMIT, "cursor": before.next_cursor}
                with capture.running() as statements:
                    result = search.search(connection, search.validate(raw_params), now=now)
                page_ms, plan = explain(raw, *statements[0], repeat)
                rest = [explain(raw, *statement, repeat)[0] for statement in statements[1:]]
                lower = getattr(result, "total_is_lower_bound", False)
                rows.append(Row(jobs, kind, word, page, page_ms, sum(rest) if rest else None,
                                matches, f"{result.total}{'+' if lower else ''}", plan))
    database.dispose()
    return rows


def cursor_for(database_url: str, word: str, offset: int) -> str:
    from hotgigs.db import Database
    from hotgigs.jobs import search

    database = Database(database_url, pool_size=1)
    try:
        with database.read_connection() as connection:
            return search.search(connection, search.validate(
                {"search": word, "limit": LIMIT, "offset": offset - LIMIT})).next_cursor
    finally:
        database.dispose()


def measure_rest(settings: Any, deps: Any, rows: list[Row], workers: int, repeat: int) -> None:
    """REST p50 of each row's search with every cache cold (generation bumped before each)."""
    import redis

    from hotgigs.dev import stack
    from hotgigs.dev.embedded import free_port
    from hotgigs.dev.workers import worker_processes
    from hotgigs.settings import Address

    run_settings = dataclasses.replace(
        settings, metrics_address=None, http_address=Address("127.0.0.1", free_port()),
        grpc_address=Address("127.0.0.1", 0), envoy_admin_address=Address("127.0.0.1", free_port()),
        data_dir=settings.data_dir / "rest")
    cache = redis.Redis.from_url(deps.redis_url)
    with contextlib.ExitStack() as running:
        ports = running.enter_context(worker_processes(run_settings, deps, workers))
        running.enter_context(stack.envoy(run_settings, ports))
        with httpx.Client(base_url=f"http://{run_settings.http_address}", timeout=60) as client:
            client.get("/api/health").raise_for_status()
            for row in rows:
                offset = dict((name, off) for name, off, _ in PAGES)[row.page]
                query: dict[str, Any] = {"search": row.word, "limit": LIMIT}
                if row.page.endswith("cursor"):
                    query["cursor"] = cursor_for(deps.database_url, row.word, offset)
                else:
                    query["offset"] = offset
                times = []
                for _ in range(repeat + 1):  # the first call also warms the worker's statement
                    cache.incr(GENERATION)
                    started = time.perf_counter()
                    client.get("/api/jobs", params=query).raise_for_status()
                    times.append((time.perf_counter() - started) * 1000)
                row.rest_ms = statistics.median(times[1:])
    cache.close()


def seed_once(database_url: str, jobs: int, folder: Path, progress: Any) -> None:
    from hotgigs.dev import seed

    marker = folder / f"seeded-{jobs}"
    if marker.exists():
        return
    progress(f"seeding {jobs} jobs (once)")
    started = time.perf_counter()
    seed.seed(database_url, seed.SeedSize(companies=2000, jobs=jobs, candidates=1000,
                                          applications=1000))
    with psycopg.connect(_conninfo(database_url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    progress(f"seeded and analysed in {time.perf_counter() - started:.0f} s")
    marker.touch()


def table(rows: list[Row]) -> str:
    header = (f"{'jobs':>9}  {'search':<24} {'page':<10} {'page ms':>8} {'total ms':>9} "
              f"{'matches':>8} {'total':>8} {'rest p50':>9}  plan")
    lines = [header, "-" * len(header)]
    for row in rows:
        total_ms = "-" if row.total_ms is None else f"{row.total_ms:.1f}"
        rest = "-" if row.rest_ms is None else f"{row.rest_ms:.0f} ms"
        lines.append(f"{row.jobs:>9}  {row.kind + ' ' + repr(row.word):<24} {row.page:<10} "
                     f"{row.page_ms:>8.1f} {total_ms:>9} {row.matches:>8} {row.total:>8} "
                     f"{rest:>9}  {row.plan}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    os.environ.update({
        "HOTGIGS_LOG_LEVEL": "WARNING", "HOTGIGS_LOG_FORMAT": "json",
        "HOTGIGS_ENVOY_ACCESS_LOG": "/dev/null", "RATE_LIMIT_PER_MINUTE": "1000000",
        "RATE_LIMIT_PER_HOUR": "10000000", "HOTGIGS_METRICS_ADDRESS": "off"})
    from hotgigs import runtime
    from hotgigs.dev import stack
    from hotgigs.settings import Settings
    from hotgigs.telemetry.logging import configure_logging

    def progress(message: str) -> None:
        print(f"bench scale: {message}", file=sys.stderr, flush=True)

    rows: list[Row] = []
    for jobs in (int(size) for size in args.sizes.split(",")):
        folder = Path(args.data_dir) / f"jobs-{jobs}"
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["HOTGIGS_DATA_DIR"] = str(folder)
        settings = Settings.from_env()
        configure_logging(settings)
        with stack.dependencies(settings) as deps:
            runtime.migrate_to_head(deps)
            seed_once(deps.database_url, jobs, folder, progress)
            progress(f"{jobs} jobs: database time per search")
            measured = measure_database(deps.database_url, jobs, args.repeat)
            if not args.no_rest:
                progress(f"{jobs} jobs: REST with cold caches, {args.workers} workers")
                measure_rest(settings, deps, measured, args.workers, args.repeat)
            rows += measured
    print(f"\nscale: database ms per public job search (EXPLAIN ANALYZE, median of {args.repeat}), "
          f"{LIMIT} a page\n")
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps([dataclasses.asdict(row) for row in rows], indent=2))
        print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
