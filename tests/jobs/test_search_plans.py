"""On a seeded database the common job searches use indexes, not a sequential scan of jobs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from hotgigs.db import Database
from hotgigs.jobs import queries, search
from tests.support.servers import schema_owner_url

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
"""  # noqa: S608 - a constant: JOBS is ours


@pytest.fixture(scope="module")
def seeded(own_database: Database) -> Database:
    with own_database.engine.begin() as connection:
        for statement in SEED.split(";\n"):
            if statement.strip():
                connection.execute(sa.text(statement))
    # the planner's statistics: ANALYZE is the tables' owner's (the app role's is skipped)
    owner = sa.create_engine(schema_owner_url(own_database.engine.url.render_as_string(hide_password=False)),
                             poolclass=NullPool)
    with owner.begin() as connection:
        connection.execute(sa.text("ANALYZE"))
    owner.dispose()
    return own_database


NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def plan(connection: sa.Connection, statement: Any, values: dict[str, Any]) -> str:
    """EXPLAIN of the statement the search runs, with the values it binds."""
    compiled = statement.compile(dialect=connection.dialect)
    bound = {**compiled.params, **values}
    rows = connection.exec_driver_sql(f"EXPLAIN {compiled}", bound).scalars()
    return "\n".join(rows)


def page_plan(connection: sa.Connection, params: search.SearchIn) -> str:
    values = {**search.values(params, NOW), "limit": params.limit + 1, "offset": 0}
    return plan(connection, queries.search_page_statement(search.shape(params)), values)


def count_plan(connection: sa.Connection, params: search.SearchIn) -> str:
    return plan(connection, queries.search_count_statement(search.shape(params).filters),
                {**search.values(params, NOW), "up_to": search.EXACT_TOTAL_UP_TO + 1})


def cursor_plan(connection: sa.Connection, params: search.SearchIn) -> str:
    """The plan of the page after the first one, reached by cursor."""
    first = search.search(connection, params, now=NOW)
    after = search.validate({**dataclasses.asdict(params), "cursor": first.next_cursor})
    values = {**search.values(after, NOW), "limit": params.limit + 1, "offset": 0,
              **search._after_cursor(after)}
    return plan(connection, queries.search_page_statement(search.shape(after)), values)


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
    with seeded.read_connection() as connection:
        page = page_plan(connection, params)
        assert "Seq Scan on jobs" not in page, f"{name}: page query scans jobs\n{page}"
        if check_count:
            count = count_plan(connection, params)
            assert "Seq Scan on jobs" not in count, f"{name}: count scans jobs\n{count}"


#: A sort of every row (an Incremental Sort of the ties of an ordered index scan is fine).
FULL_SORT = re.compile(r"(^|->  )Sort ", re.MULTILINE)


class TestPagesStopAfterThePage:
    """The page query counts nothing, so PostgreSQL may stop after the page: a common word
    walks active jobs in the sort's index, checking the text on each (page 1, deep offsets and
    cursor pages alike); a rare one keeps the GIN index and sorts its few matches. A count of
    every match (count(*) OVER ()) made every page scan and sort them all."""

    def test_a_common_word_walks_the_created_at_index(self, seeded: Database) -> None:
        params = search.validate({"search": "engineer", "limit": 20})
        with seeded.read_connection() as connection:
            for plan_text in (page_plan(connection, params),
                              page_plan(connection, dataclasses.replace(params, offset=180)),
                              cursor_plan(connection, params)):
                assert re.search(r"Index Scan Backward using ix_jobs_(active|status)_created_at",
                                 plan_text), plan_text
                assert not FULL_SORT.search(plan_text) and "WindowAgg" not in plan_text, plan_text

    def test_a_rare_word_uses_the_text_index(self, seeded: Database) -> None:
        params = search.validate({"search": "12345", "limit": 20})
        with seeded.read_connection() as connection:
            plan_text = page_plan(connection, params)
        assert "ix_jobs_active_search_vector" in plan_text, plan_text

    def test_the_salary_sort_walks_its_index(self, seeded: Database) -> None:
        params = search.validate({"sort_by": "salary", "limit": 20})
        with seeded.read_connection() as connection:
            plan_text = page_plan(connection, params)
        assert "ix_jobs_active_salary" in plan_text and not FULL_SORT.search(plan_text), plan_text

    def test_the_count_stops_at_the_threshold(self, seeded: Database) -> None:
        params = search.validate({"search": "engineer"})
        with seeded.read_connection() as connection:
            plan_text = count_plan(connection, params)
        assert "Limit" in plan_text, plan_text


def test_search_statements_are_planned_for_their_values(seeded: Database) -> None:
    """psycopg prepares a statement at its fifth execution on a connection, after which
    PostgreSQL may use one generic plan for every word; the search's statements are sent
    unprepared instead, so each is planned for its words (db.PLAN_EACH_EXECUTION)."""
    with seeded.read_connection() as connection:
        for word in ("engineer", "12345", "nurse") * 4:
            search.search(connection, search.validate({"search": word, "limit": 5,
                                                       "include_facets": True}), now=NOW)
        prepared = connection.exec_driver_sql(
            "SELECT statement FROM pg_prepared_statements").scalars().all()
    assert not [statement for statement in prepared if "jobs" in statement], prepared


def test_the_seed_indexes_exist_under_their_names(seeded: Database) -> None:
    with seeded.session_scope() as session:
        names = set(session.scalars(sa.text("SELECT indexname FROM pg_indexes")))
    assert {"idx_jobs_search", "idx_jobs_salary", "idx_applications_status",
            "idx_applications_candidate", "idx_users_email", "idx_users_type",
            "idx_companies_industry", "idx_companies_size"} <= names


def test_search_results_match_the_seeded_rows(seeded: Database) -> None:
    """A sanity check that the plans above belong to queries that find real rows."""
    with seeded.read_connection() as connection:
        result = search.search(connection, search.validate({"location": "Zurich", "limit": 5}),
                               now=NOW)
        expected = connection.scalar(sa.text(
            "SELECT count(*) FROM jobs WHERE status = 'active' AND lower(location) LIKE '%zurich%'"))
    assert result.total == expected
    assert expected and expected > 0
    assert all(row.location == "Zurich" for row in result.rows)


def test_a_search_shape_is_built_once(seeded: Database) -> None:
    """Searches of one shape with other values reuse one statement (and its compiled form):
    no statement is built per request."""
    first = search.validate({"search": "engineer", "location": "Oslo", "limit": 5})
    again = search.validate({"search": "software engineer", "location": "Lisbon", "limit": 7,
                            "offset": 3})
    assert search.shape(first) == search.shape(again)
    with seeded.read_connection() as connection:
        search.search(connection, first, now=NOW)
        built = queries.search_page_statement.cache_info()
        result = search.search(connection, again, now=NOW)
    after = queries.search_page_statement.cache_info()
    assert (after.misses, after.hits) == (built.misses, built.hits + 1)
    assert result.total > 0 and all("lisbon" in row.location.lower() for row in result.rows)
