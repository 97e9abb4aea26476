"""The accounts and ids the write cases need, made through the real REST API."""

from __future__ import annotations

import dataclasses
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url

from hotgigs.db import normalise_database_url

PASSWORD = "Bench!Load-Pass7"  # noqa: S105 - accounts made by the benchmark, in its own database


@dataclasses.dataclass(frozen=True)
class Actors:
    emails: list[str]
    candidate_tokens: list[str]
    employer_token: str
    company_id: int
    open_job_ids: list[int]


def _register(client: httpx.Client, email: str, user_type: str) -> dict[str, Any]:
    response = client.post("/api/auth/register", json={
        "email": email, "password": PASSWORD, "first_name": "Bench", "last_name": user_type.title(),
        "user_type": user_type})
    if response.status_code != 201:
        raise RuntimeError(f"registering {email} failed: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


# Every account the bench makes has an address here; what they create hangs off them.
DOMAIN = "bench.hotgigs.test"


def _connect(database_url: str) -> psycopg.Connection[Any]:
    conninfo = make_url(normalise_database_url(database_url)).set(
        drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(conninfo)


def forget_earlier_runs(database_url: str) -> dict[str, int]:
    """Delete what earlier bench runs wrote (their accounts, companies, the jobs they posted,
    applications, notifications and mail, by cascade) and refresh the planner's statistics, so
    every run measures the seeded data set. Without it each run's thousands of draft jobs made
    the next run's uncached searches slower (168 -> 85 req/s over a day of runs)."""
    pattern = f"%@{DOMAIN}"
    with _connect(database_url) as conn:
        jobs = conn.execute(
            "DELETE FROM jobs WHERE company_id IN (SELECT c.id FROM companies c JOIN users u "
            "ON u.id = c.created_by WHERE u.email LIKE %s)", (pattern,)).rowcount
        conn.execute("DELETE FROM companies WHERE created_by IN "
                     "(SELECT id FROM users WHERE email LIKE %s)", (pattern,))
        mail = conn.execute("DELETE FROM outbox_emails WHERE to_address LIKE %s", (pattern,)).rowcount
        users = conn.execute("DELETE FROM users WHERE email LIKE %s", (pattern,)).rowcount
    with _connect(database_url) as conn:
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return {"jobs": jobs, "users": users, "mail": mail}


def open_jobs(database_url: str, count: int) -> list[int]:
    """Active jobs that take applications for at least another day."""
    with _connect(database_url) as conn:
        rows = conn.execute(
            "SELECT id FROM jobs WHERE status = 'active' AND (application_deadline IS NULL OR "
            "application_deadline > now() + interval '1 day') ORDER BY id LIMIT %s", (count,)).fetchall()
    return [int(row[0]) for row in rows]


def make(base_url: str, database_url: str, *, candidates: int = 64, jobs: int = 400) -> Actors:
    """Fresh candidates (so no application repeats an earlier run's), one employer with a
    company, and open job ids."""
    run = secrets.token_hex(4)
    emails = [f"bench{number}.{run}@{DOMAIN}" for number in range(candidates)]
    with httpx.Client(base_url=base_url, timeout=60) as client, ThreadPoolExecutor(4) as pool:
        accounts = list(pool.map(lambda email: _register(client, email, "candidate"), emails))
        employer = _register(client, f"employer.{run}@{DOMAIN}", "company")
        token = employer["access_token"]
        company = client.post("/api/companies", headers={"Authorization": f"Bearer {token}"},
                              json={"name": f"Bench Co {run}"})
        company.raise_for_status()
    job_ids = open_jobs(database_url, jobs)
    if not job_ids:
        raise RuntimeError("the bench database has no open jobs to apply to")
    return Actors(emails, [account["access_token"] for account in accounts], token,
                  int(company.json()["company"]["id"]), job_ids)
