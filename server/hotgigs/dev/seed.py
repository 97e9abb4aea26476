"""`hotgigs seed`: fill a database with realistic synthetic data, repeatably.

Companies (each with a company user as admin member), jobs (mostly active, some drafts,
paused, closed and expired; real-looking titles, locations, skills, salaries), candidates with
profiles, and applications spread over the pipeline. Rows go in with PostgreSQL COPY, so
100,000 jobs take seconds. The same `--random-seed` gives the same data. Every seeded account
has the password printed at the end (for demos; never seed a production database).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

import psycopg
from sqlalchemy.engine import make_url

from hotgigs.db import normalise_database_url
from hotgigs.security import passwords
from hotgigs.security.encryption import KeyRing
from hotgigs.settings import DEVELOPMENT_KEKS

SEED_PASSWORD = "Seed!Demo-Pass9"  # noqa: S105 - printed for demos, only for seeded data

TITLES = ("Software Engineer", "Senior Software Engineer", "Backend Developer",
          "Frontend Developer", "Full Stack Developer", "Data Scientist", "Data Analyst",
          "Machine Learning Engineer", "DevOps Engineer", "Site Reliability Engineer",
          "Product Manager", "Product Designer", "UX Researcher", "QA Engineer",
          "Mobile Developer", "Security Engineer", "Database Administrator", "Technical Writer",
          "Sales Representative", "Account Executive", "Customer Success Manager",
          "Marketing Manager", "Content Strategist", "HR Business Partner", "Recruiter",
          "Financial Analyst", "Accountant", "Operations Manager", "Project Manager",
          "Registered Nurse", "Pharmacist", "Mechanical Engineer", "Electrical Engineer",
          "Civil Engineer", "Teacher", "Graphic Designer", "Supply Chain Analyst", "Data Engineer",
          "Cloud Architect", "Support Engineer")
SKILLS = ("python", "java", "javascript", "typescript", "go", "rust", "c++", "sql", "postgresql",
          "redis", "kubernetes", "docker", "aws", "gcp", "azure", "terraform", "react", "vue",
          "angular", "node.js", "django", "flask", "fastapi", "spark", "kafka", "airflow",
          "pandas", "pytorch", "tensorflow", "excel", "figma", "salesforce", "seo", "tableau",
          "power bi", "linux", "git", "graphql", "grpc", "communication", "leadership")
CITIES = ("Berlin, Germany", "Munich, Germany", "Hamburg, Germany", "London, UK",
          "Manchester, UK", "Paris, France", "Lyon, France", "Madrid, Spain", "Barcelona, Spain",
          "Amsterdam, Netherlands", "Dublin, Ireland", "Lisbon, Portugal", "Vienna, Austria",
          "Zurich, Switzerland", "Stockholm, Sweden", "Copenhagen, Denmark", "Oslo, Norway",
          "Warsaw, Poland", "Prague, Czechia", "New York, NY", "San Francisco, CA",
          "Austin, TX", "Seattle, WA", "Boston, MA", "Chicago, IL", "Toronto, Canada",
          "Vancouver, Canada", "Sydney, Australia", "Melbourne, Australia", "Remote")
INDUSTRIES = ("Software", "Finance", "Healthcare", "Retail", "Education", "Manufacturing",
              "Media", "Logistics", "Energy", "Consulting")
SIZES = ("1-10", "11-50", "51-200", "201-500", "501-1000", "1000+")
FIRST = ("Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances",
         "Donald", "Radia", "Tim", "Katherine", "John", "Hedy", "Guido", "Sophie", "Mateo",
         "Amara", "Yuki", "Priya", "Omar", "Lena", "Noah", "Chloe", "Ivan", "Zara", "Kofi")
LAST = ("Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
        "Allen", "Knuth", "Perlman", "Berners-Lee", "Johnson", "McCarthy", "Lamarr", "Rossum",
        "Wilson", "Garcia", "Okafor", "Tanaka", "Sharma", "Haddad", "Schmidt", "Nguyen")
EMPLOYMENT = ("full-time", "full-time", "full-time", "part-time", "contract", "freelance",
              "internship")
LEVELS = ("entry", "mid", "mid", "senior", "senior", "executive")
JOB_STATUSES = ("active",) * 7 + ("draft", "paused", "closed", "expired")
AVAILABILITY = ("immediate", "2_weeks", "1_month", "3_months")
PIPELINE = ("applied",) * 5 + ("screening",) * 3 + ("interviewing",) * 2 + (
    "offered", "hired", "rejected", "rejected", "withdrawn")


@dataclasses.dataclass(frozen=True)
class SeedSize:
    companies: int = 200
    jobs: int = 2000
    candidates: int = 500
    applications: int = 2000


class Progress:
    """One line per step on stderr, rewritten in place on a terminal."""

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self.out = out
        self.tty = out.isatty()

    def update(self, label: str, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        line = f"{label:<13} [{'#' * filled}{'.' * (width - filled)}] {done:>7}/{total}"
        if self.tty:
            self.out.write("\r" + line + ("\n" if done >= total else ""))
        elif done >= total or done % max(total // 4, 1) == 0:
            self.out.write(line + "\n")
        self.out.flush()


def _copy(conn: psycopg.Connection[Any], table: str, columns: Sequence[str],
          rows: Iterator[Sequence[Any]], total: int, progress: Progress, label: str) -> None:
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with conn.cursor() as cur, cur.copy(sql) as copy:
        for number, row in enumerate(rows, 1):
            copy.write_row(row)
            if number % 5000 == 0 or number == total:
                progress.update(label, number, total)


def _ids(conn: psycopg.Connection[Any], sql: str) -> list[int]:
    return [int(row[0]) for row in conn.execute(sql).fetchall()]


def seed(database_url: str, size: SeedSize, *, random_seed: int = 42,
         progress: Progress | None = None, now: Callable[[], dt.datetime] | None = None,
         keyring: KeyRing | None = None) -> dict[str, int]:
    """Insert synthetic data; return the number of rows added per table. Sealed columns
    (cover letters, rejection reasons) are sealed with `keyring` (default: the development
    KEK, what `hotgigs up` serves with)."""
    keys = keyring or KeyRing(DEVELOPMENT_KEKS)

    def sealed(table: str, column: str, value: str | None) -> bytes | None:
        return None if value is None else keys.seal(value.encode(), context=f"{table}.{column}")

    rng = random.Random(random_seed)  # noqa: S311 - synthetic data, repeatable on purpose
    report = progress or Progress()
    moment = (now or (lambda: dt.datetime.now(dt.UTC)))()
    url = make_url(normalise_database_url(database_url))
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    password_hash = passwords.hash_password(SEED_PASSWORD)
    tag = f"s{random_seed}x{int(moment.timestamp())}"
    with psycopg.connect(conninfo) as conn:
        def people(kind: str, count: int) -> Iterator[tuple[Any, ...]]:
            for number in range(count):
                yield (f"{kind}{number}.{tag}@seed.hotgigs.test", password_hash,
                       rng.choice(FIRST), rng.choice(LAST), kind, moment)

        _copy(conn, "users", ("email", "password_hash", "first_name", "last_name", "user_type",
                              "email_verified_at"),
              people("company", size.companies), size.companies, report, "company users")
        owners = _ids(conn, f"SELECT id FROM users WHERE email LIKE 'company%.{tag}@%' ORDER BY id")  # noqa: S608 - tag is ours

        def companies() -> Iterator[tuple[Any, ...]]:
            for number, owner in enumerate(owners):
                suffix = rng.choice(("Labs", "Systems", "Group", "Health", "Works", "Digital"))
                name = f"{rng.choice(LAST)} {suffix} {number}"
                yield (name, f"{name.lower().replace(' ', '-')}-{tag}", rng.choice(INDUSTRIES),
                       rng.choice(SIZES), rng.choice(CITIES), owner,
                       f"A {rng.choice(INDUSTRIES).lower()} company that values craft.")

        _copy(conn, "companies", ("name", "slug", "industry", "company_size", "location",
                                  "created_by", "description"),
              companies(), len(owners), report, "companies")
        company_rows = conn.execute(
            f"SELECT id, created_by FROM companies WHERE slug LIKE '%-{tag}' ORDER BY id").fetchall()  # noqa: S608 - tag is ours
        with conn.cursor() as cur, cur.copy(
                "COPY company_members (company_id, user_id, role) FROM STDIN") as copy:
            for company_id, owner in company_rows:
                copy.write_row((company_id, owner, "admin"))
        company_ids = [int(row[0]) for row in company_rows]

        def jobs() -> Iterator[tuple[Any, ...]]:
            for number in range(size.jobs):
                title = rng.choice(TITLES)
                skills = sorted(set(rng.sample(SKILLS, rng.randint(2, 6))))
                level = rng.choice(LEVELS)
                base = {"entry": 35000, "mid": 55000, "senior": 80000, "executive": 120000}[level]
                low = base + rng.randint(0, 30) * 1000
                created = moment - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 180))
                status = rng.choice(JOB_STATUSES)
                yield (rng.choice(company_ids), title,
                       f"As a {title} you will work with {', '.join(skills)} in a team that "
                       f"ships every week. Job {number} offers growth, mentoring and real ownership.",
                       f"Experience with {skills[0]} and {skills[-1]}; clear communication.",
                       rng.choice(CITIES), rng.choice(EMPLOYMENT), level, low,
                       low + rng.randint(5, 40) * 1000, rng.choice(("USD", "EUR", "GBP")),
                       "{" + ",".join(f'"{s}"' for s in skills) + "}", rng.random() < 0.35,
                       status, created, created if status != "draft" else None)

        _copy(conn, "jobs", ("company_id", "title", "description", "requirements", "location",
                             "employment_type", "experience_level", "salary_min", "salary_max",
                             "currency", "skills_required", "remote_work_allowed", "status",
                             "created_at", "published_at"),
              jobs(), size.jobs, report, "jobs")
        _copy(conn, "users", ("email", "password_hash", "first_name", "last_name", "user_type",
                              "email_verified_at"),
              people("candidate", size.candidates), size.candidates, report, "candidates")
        candidate_ids = _ids(conn, f"SELECT id FROM users WHERE email LIKE 'candidate%.{tag}@%' ORDER BY id")  # noqa: S608 - tag is ours

        def profiles() -> Iterator[tuple[Any, ...]]:
            for user_id in candidate_ids:
                skills = sorted(set(rng.sample(SKILLS, rng.randint(3, 8))))
                low = rng.randint(30, 150) * 1000
                yield (user_id, f"{rng.choice(TITLES)} with {rng.randint(1, 20)} years",
                       rng.choice(CITIES), "{" + ",".join(f'"{s}"' for s in skills) + "}",
                       rng.choice(LEVELS), rng.randint(0, 25), rng.choice(AVAILABILITY), low,
                       low + rng.randint(5, 50) * 1000, rng.random() < 0.5)

        _copy(conn, "candidate_profiles", ("user_id", "headline", "location", "skills",
                                           "experience_level", "years_experience",
                                           "availability", "salary_min", "salary_max",
                                           "remote_preference"),
              profiles(), len(candidate_ids), report, "profiles")
        active_jobs = _ids(conn, "SELECT id FROM jobs WHERE status = 'active' ORDER BY id")
        pairs: set[tuple[int, int]] = set()
        wanted = min(size.applications, len(active_jobs) * max(len(candidate_ids), 1))
        while len(pairs) < wanted and active_jobs and candidate_ids:
            pairs.add((rng.choice(active_jobs), rng.choice(candidate_ids)))
        ordered = sorted(pairs)

        def applications() -> Iterator[tuple[Any, ...]]:
            for job_id, candidate_id in ordered:
                status = rng.choice(PIPELINE)
                yield (job_id, candidate_id, status,
                       moment - dt.timedelta(hours=rng.randint(1, 24 * 60)),
                       sealed("job_applications", "cover_letter",
                              "I am excited about this role." if rng.random() < 0.6 else None),
                       sealed("job_applications", "rejection_reason",
                              "Not a fit this time" if status == "rejected" else None))

        _copy(conn, "job_applications", ("job_id", "candidate_id", "status", "applied_at",
                                         "cover_letter", "rejection_reason"),
              applications(), len(ordered), report, "applications")
        conn.execute("""
            INSERT INTO application_status_history (application_id, from_status, to_status,
                                                    changed_at)
            SELECT a.id, NULL, a.status, a.applied_at FROM job_applications a
            WHERE NOT EXISTS (SELECT 1 FROM application_status_history h
                              WHERE h.application_id = a.id)""")
        conn.execute("ANALYZE")
    return {"company users": len(owners), "companies": len(company_ids), "jobs": size.jobs,
            "candidates": len(candidate_ids), "applications": len(ordered)}


def main(database_url: str, size: SeedSize, random_seed: int, keyring: KeyRing | None = None
         ) -> None:
    started = time.monotonic()
    counts = seed(database_url, size, random_seed=random_seed, keyring=keyring)
    summary = ", ".join(f"{count} {name}" for name, count in counts.items())
    print(f"Seeded {summary} in {time.monotonic() - started:.1f} s.")
    print(f"Every seeded account signs in with the password {SEED_PASSWORD!r} "
          "(e-mails like candidate0.<tag>@seed.hotgigs.test).")
