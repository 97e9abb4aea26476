"""`hotgigs seed`: realistic, repeatable synthetic data that the API can search."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.dev.embedded import EmbeddedPostgres
from hotgigs.dev.seed import Progress, SeedSize, seed
from hotgigs.jobs import search
from tests.support.servers import new_database, new_migrated_database

SMALL = SeedSize(companies=10, jobs=400, candidates=50, applications=120)


def _jobs_fingerprint(database: Database) -> list[tuple[str, str, int]]:
    with database.session_scope() as session:
        rows = session.execute(sa.text(
            "SELECT title, location, salary_min FROM jobs ORDER BY id")).all()
    return [(str(a), str(b), int(c)) for a, b, c in rows]


def test_seed_is_repeatable_and_searchable(embedded_postgres: EmbeddedPostgres) -> None:
    urls = [new_migrated_database(embedded_postgres) for _ in range(2)]
    prints = []
    for url in urls:
        counts = seed(url, SMALL, random_seed=7, progress=Progress(io.StringIO()))
        assert counts["jobs"] == 400
        assert counts["candidates"] == 50
        assert counts["applications"] == 120
        database = Database(url)
        prints.append(_jobs_fingerprint(database))
        with database.session_scope() as session:
            active = session.scalar(sa.text("SELECT count(*) FROM jobs WHERE status = 'active'"))
            result = search.search(session, search.validate({"search": "engineer", "limit": 5}))
            members = session.scalar(sa.text("SELECT count(*) FROM company_members"))
            histories = session.scalar(sa.text("SELECT count(*) FROM application_status_history"))
        database.dispose()
        assert active and active > 200
        assert result.total > 0
        assert members == 10
        assert histories == 120
    assert prints[0] == prints[1], "same --random-seed, same data"


def test_seed_command_prints_progress_and_the_password(embedded_postgres: EmbeddedPostgres,
                                                       tmp_path: Path) -> None:
    url = new_database(embedded_postgres)  # the command migrates it first
    env = {**os.environ, "DATABASE_URL": url, "HOTGIGS_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "hotgigs.cli", "seed", "--companies", "2", "--jobs", "20",
         "--candidates", "5", "--applications", "5"],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "jobs" in result.stderr and "20/20" in result.stderr
    assert "Seeded 2 company users, 2 companies, 20 jobs" in result.stdout
    assert "password" in result.stdout


def test_seed_refuses_bad_sizes() -> None:
    result = subprocess.run([sys.executable, "-m", "hotgigs.cli", "seed", "--jobs", "-5"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "must be 0 or more" in result.stderr
