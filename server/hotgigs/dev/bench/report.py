"""The bench's table and JSON, every rate also as a ratio to the machine's ceiling."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hotgigs.dev.bench.cpu import GROUP_NAMES
from hotgigs.dev.bench.loadgen import Result

CPU_HEADINGS = {"workers": "wk", "envoy": "envoy", "postgres": "pg", "redis": "redis", "nginx": "nginx",
                "reference": "ref"}


def cpu_columns(result: Result) -> str:
    """CPU ms per request of each process group; '-' where the group did no work."""
    return " ".join(f"{result.cpu_ms[name]:>6.2f}" if result.cpu_ms.get(name) else f"{'-':>6}"
                    for name in GROUP_NAMES)


def table(results: Sequence[Result], ceiling: Result | None) -> str:
    cpu_heading = " ".join(f"{CPU_HEADINGS[name]:>6}" for name in GROUP_NAMES)
    lines = [f"{'':<96} CPU ms per request",
             f"{'case':<30} {'path':<10} {'wk':>2} {'conns':>5} {'req/s':>8} {'p50 ms':>8} "
             f"{'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'RSS MB':>7} {'vs ceiling':>10} "
             f"{cpu_heading}"]
    for result in results:
        ratio = result.rate / ceiling.rate if ceiling and ceiling.rate else 0.0
        p = result.percentiles_ms
        rss = f"{result.rss_mb:.0f}" if result.rss_mb is not None else "-"
        lines.append(f"{result.name:<30} {result.path:<10} {result.workers or '-':>2} "
                     f"{result.connections:>5} {result.rate:>8.0f} {p[50]:>8.2f} {p[95]:>8.2f} "
                     f"{p[99]:>8.2f} {result.errors:>7} {rss:>7} {ratio:>10.3f} "
                     f"{cpu_columns(result)}")
    return "\n".join(lines)


def as_json(results: Sequence[Result], ceiling: Result | None, context: dict[str, Any]) -> str:
    return json.dumps({**context, "cases": [{
        "case": r.name, "path": r.path, "workers": r.workers, "connections": r.connections,
        "requests": r.requests, "seconds": round(r.seconds, 3), "rps": round(r.rate, 1),
        "p50_ms": r.percentiles_ms[50], "p95_ms": r.percentiles_ms[95],
        "p99_ms": r.percentiles_ms[99], "errors": r.errors, "workers_rss_mb": r.rss_mb,
        "ratio_to_ceiling": round(r.rate / ceiling.rate, 4) if ceiling and ceiling.rate else None,
        "cpu_ms_per_request": {name: round(value, 3) for name, value in r.cpu_ms.items()},
        "bytes_per_response": round(r.bytes_per_request) if r.bytes_read else None,
    } for r in results]}, indent=2)
