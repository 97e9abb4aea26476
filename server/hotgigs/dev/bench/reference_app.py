"""The bench's same-run reference: a plain FastAPI + uvicorn + async psycopg service that runs
OUR uncached public search's SQL (issue 17: "throughput at least that of FastAPI + async
psycopg on the same SQL"). One process of it; `hotgigs.dev.bench.reference` starts as many as
the API has workers, all accepting on one shared listening socket (as `uvicorn --workers` does).

GET /api/jobs?search=&location=&offset=&limit= runs the statement text that
`hotgigs.jobs.queries` builds for a search with words and a location (compiled by the bench,
read from a file here, sent unprepared like ours), and the bounded count when the page does not
settle the total; totals are kept per (words, location) in the process, the plain equivalent
of our Redis totals (cheaper than ours: it favours the reference). No rate limit, no answer
cache, no auth: what a plain service does. Rows go out as JSON, one object per job.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Query, Response
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

#: The libpq connection string (an environment variable, not an argument: it holds a password).
DSN_ENV = "HOTGIGS_REFERENCE_DSN"
#: As hotgigs.jobs.search.EXACT_TOTAL_UP_TO: totals exact up to this, above it a lower bound.
EXACT_TOTAL_UP_TO = 10_000


def _json(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.datetime | dt.date) else str(value)


def create_app(dsn: str, statements: dict[str, Any], pool_min: int, pool_max: int,
               ready: Path | None = None) -> FastAPI:
    """The service: `statements` holds `page` and `count` (SQL text with %(name)s values) and
    `constants` (the values the compiled statements bind besides the request's)."""
    pool = AsyncConnectionPool(dsn, min_size=pool_min, max_size=pool_max, open=False,
                               kwargs={"autocommit": True, "row_factory": dict_row})
    page_sql, count_sql, constants = statements["page"], statements["count"], statements["constants"]
    totals: dict[tuple[str, str], int] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=True)
        if ready is not None:
            ready.write_text(str(os.getpid()))
        yield
        await pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/api/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/jobs")
    async def search(search: str = Query(min_length=1, max_length=200),
                     location: str = Query(min_length=1, max_length=200),
                     offset: int = Query(0, ge=0, le=10_000),
                     limit: int = Query(20, ge=1, le=100)) -> Response:
        lowered = location.lower()
        like = lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        bound = {**constants, "now": dt.datetime.now(dt.UTC), "search": search,
                 "location": lowered, "location_like": f"%{like}%"}
        async with pool.connection() as connection:
            cursor = await connection.execute(page_sql, {**bound, "limit": limit + 1, "offset": offset},
                                              prepare=False)
            rows = await cursor.fetchall()
            if len(rows) <= limit and (rows or not offset):
                total, lower_bound = offset + len(rows), False
            else:
                counted = totals.get((search, lowered))
                if counted is None:
                    cursor = await connection.execute(count_sql, {**bound, "up_to": EXACT_TOTAL_UP_TO + 1},
                                                      prepare=False)
                    row: Any = await cursor.fetchone()  # a dict (dict_row); one column
                    counted = totals[(search, lowered)] = int(next(iter(row.values()))) if row else 0
                lower_bound = counted > EXACT_TOTAL_UP_TO
                total = max(EXACT_TOTAL_UP_TO, offset + len(rows)) if lower_bound else counted
        body = {"jobs": rows[:limit], "pagination": {"limit": limit, "offset": offset, "total": total},
                "total_is_lower_bound": lower_bound}
        return Response(json.dumps(body, default=_json), media_type="application/json")

    return app


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m hotgigs.dev.bench.reference_app",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fd", type=int, required=True, help="an inherited listening TCP socket")
    parser.add_argument("--statements", required=True, help="the JSON the bench compiled")
    parser.add_argument("--pool-min", type=int, required=True)
    parser.add_argument("--pool-max", type=int, required=True)
    parser.add_argument("--ready", help="a file written once the pool is open")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    app = create_app(os.environ[DSN_ENV], json.loads(Path(args.statements).read_text()),
                     args.pool_min, args.pool_max, Path(args.ready) if args.ready else None)
    listening = socket.socket(fileno=args.fd)  # family and type read from the descriptor
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[listening])


if __name__ == "__main__":
    main()
