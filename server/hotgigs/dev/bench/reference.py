"""Start the same-run reference (`reference_app`: FastAPI + uvicorn + async psycopg) for the
bench's "search uncached" case: as many processes as the API has workers, each with the API's
pool size, on the API's database, running the statement text our public search sends."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import psycopg

from hotgigs.dev.bench.reference_app import DSN_ENV
from hotgigs.jobs import queries

#: The search the reference serves: words and a location, newest first (the bench's distinct
#: queries; `hotgigs.jobs.search.shape` gives this shape for them).
SHAPE = queries.SearchShape(filters=("search", "location"))
START_TIMEOUT_SECONDS = 60.0


def statements() -> dict[str, Any]:
    """Our page and count statements for SHAPE as the psycopg dialect renders them (what our
    workers send), and the values they bind that are not the request's (status, text config)."""
    dialect = psycopg.dialect()  # type: ignore[no-untyped-call]
    page = queries.search_page_statement(SHAPE).compile(dialect=dialect)
    count = queries.search_count_statement(SHAPE.filters).compile(dialect=dialect)
    constants = {name: value for compiled in (page, count)
                 for name, value in compiled.params.items() if value is not None}
    return {"page": page.string, "count": count.string, "constants": constants}


def libpq_dsn(database_url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as a libpq connection URI."""
    return sa.make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def serve(database_url: str, *, processes: int, pool_size: int, max_overflow: int,
          workdir: Path) -> Iterator[str]:
    """Yield the base URL of `processes` reference processes sharing one listening socket (each
    with a pool of `pool_size` connections, up to `pool_size + max_overflow`, as SQLAlchemy's
    pool of a worker); stopped on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    statements_path = workdir / "reference-statements.json"
    statements_path.write_text(json.dumps(statements()))
    ready = [workdir / f"reference-ready-{index}" for index in range(processes)]
    for marker in ready:
        marker.unlink(missing_ok=True)
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(("127.0.0.1", 0))
    listening.listen(1024)
    port = listening.getsockname()[1]
    environment = {**os.environ, DSN_ENV: libpq_dsn(database_url)}
    started: list[subprocess.Popen[bytes]] = []
    try:
        with (workdir / "reference.log").open("ab") as log:
            for marker in ready:
                started.append(subprocess.Popen(  # noqa: S603 - our module, our arguments
                    [sys.executable, "-m", "hotgigs.dev.bench.reference_app",
                     "--fd", str(listening.fileno()), "--statements", str(statements_path),
                     "--pool-min", str(pool_size), "--pool-max", str(pool_size + max_overflow),
                     "--ready", str(marker)],
                    pass_fds=(listening.fileno(),), env=environment, stdout=log, stderr=log))
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not all(marker.exists() for marker in ready):
            if any(process.poll() is not None for process in started) or time.monotonic() > deadline:
                raise RuntimeError(f"the reference service did not start: see {workdir / 'reference.log'}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        listening.close()
