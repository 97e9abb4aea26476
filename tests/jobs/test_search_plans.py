"""On a seeded database the common job searches use indexes, not a sequential scan of jobs."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.db import Database
from hotgigs.jobs import search
from hotgigs.models import Job

JOBS = 20_000

SEED = f"""
INSERT INTO users (email, password_hash, first_name, last_name, user_type)
VALUES ('seed@example.com', 'x', 'Seed', 'Owner', 'company');
INSERT INTO companies (name, slug, industry, company_size)
SELECT 'Company ' || n, 'company-' || n, 'Software', '11-50' FROM generate_series(1, 200) n;
INSERT INTO jobs (company_id, title, description, requirements, location, employment_type,
                  experience_level, salary_min, salary_max, skills_required, remote_work_allowed,
                  status, created_at)
SELECT 1 + n % 200,
       (ARRAY['Software Engineer', 'Data Analyst', 'Product Manager', 'Nurse', 'Accountant',
              'Sales Representative', 'DevOps Engineer', 'Designer'])[1 + n % 8] || ' ' || n,
       'A role in a growing team with interesting problems and kind colleagues. Number ' || n,
       'Experience with tools of the trade and good communication.',
       (ARRAY['Berlin', 'Munich', 'Hamburg', 'London', 'Paris', 'Madrid', 'Rome', 'Vienna',
              'Zurich', 'Amsterdam', 'Dublin', 'Lisbon', 'Prague', 'Warsaw', 'Oslo', 'Helsinki',
              'Stockholm', 'Copenhagen', 'Brussels', 'Athens'])[1 + (n / 7) % 20],
       (ARRAY['full-time', 'part-time', 'contract', 'freelance', 'internship'])[1 + n % 5],
       (ARRAY['entry', 'mid', 'senior', 'executive'])[1 + (n / 3) % 4],
       20000 + (n % 100) * 1000, 30000 + (n % 100) * 1500,
       ARRAY[(ARRAY['python', 'go', 'java', 'sql', 'excel', 'figma', 'kubernetes',
                    'react'])[1 + n % 8], 'communication'],
       n % 4 = 0,
       (ARRAY['active', 'closed', 'closed', 'expired', 'draft', 'active', 'closed',
              'paused', 'closed', 'expired'])[1 + n % 10],
       now() - (n || ' minutes')::interval
FROM generate_series(1, {JOBS}) n;
ANALYZE;
"""  # noqa: S608 - a constant: JOBS is ours


@pytest.fixture(scope="module")
def seeded(own_database: Database) -> Database:
    with own_database.engine.begin() as connection:
        for statement in SEED.split(";\n"):
            if statement.strip():
                connection.execute(sa.text(statement))
    return own_database


def plan(session: Session, statement: Any) -> str:
    """EXPLAIN of the statement with its real bound parameters."""
    connection = session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars()
    return "\n".join(rows)


def page_query(params: search.SearchIn) -> Any:
    import datetime as dt

    where = search.conditions(params, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    return (sa.select(Job.id).where(*where).order_by(*search._sort_columns(params))
            .limit(params.limit + 1))


def count_query(params: search.SearchIn) -> Any:
    import datetime as dt

    where = search.conditions(params, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    return sa.select(sa.func.count()).select_from(Job).where(*where)


@pytest.mark.parametrize(("name", "raw", "check_count"), [
    ("default listing", {}, False),
    ("full text", {"search": "software engineer"}, True),
    ("location", {"location": "Zurich"}, True),
    ("typo location", {"location": "Zurihc"}, True),
    ("level and location", {"experience_level": "executive", "location": "Oslo"}, True),
    ("salary range", {"salary_min": 100000, "salary_max": 110000}, True),
    ("skills", {"skills": ["kubernetes"], "search": "devops"}, True),
])
def test_search_uses_an_index(seeded: Database, name: str, raw: dict[str, Any],
                              check_count: bool) -> None:
    params = search.validate(raw)
    with seeded.session_scope() as session:
        page = plan(session, page_query(params))
        assert "Seq Scan on jobs" not in page, f"{name}: page query scans jobs\n{page}"
        if check_count:
            count = plan(session, count_query(params))
            assert "Seq Scan on jobs" not in count, f"{name}: count scans jobs\n{count}"


def test_the_seed_indexes_exist_under_their_names(seeded: Database) -> None:
    with seeded.session_scope() as session:
        names = set(session.scalars(sa.text("SELECT indexname FROM pg_indexes")))
    assert {"idx_jobs_search", "idx_jobs_salary", "idx_applications_status",
            "idx_applications_candidate", "idx_users_email", "idx_users_type",
            "idx_companies_industry", "idx_companies_size"} <= names


def test_search_results_match_the_seeded_rows(seeded: Database) -> None:
    """A sanity check that the plans above belong to queries that find real rows."""
    with seeded.session_scope() as session:
        import datetime as dt

        result = search.search(session, search.validate({"location": "Zurich", "limit": 5}),
                               now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        expected = session.scalar(sa.text(
            "SELECT count(*) FROM jobs WHERE status = 'active' AND lower(location) LIKE '%zurich%'"))
    assert result.total == expected
    assert expected and expected > 0
    assert all(job.location == "Zurich" for job, _ in result.jobs)
