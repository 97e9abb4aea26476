"""Property: job search equals a brute-force filter over the same generated rows: the same
set, the same total, and paging (offset or cursor) with no duplicates or gaps. Totals are
exact up to the threshold (drawn small here); past it, flagged lower bounds, at least the
threshold and never more than the matches; totals are kept in Redis between pages.

Full text and the typo-tolerant location match are left out of the brute force (their
semantics are PostgreSQL's own); every other filter, each sort and both paging modes are in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.jobs import search, totals
from hotgigs.models import Company, Job

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
SKILLS = ("python", "go", "sql", "excel")

job_rows = st.lists(st.fixed_dictionaries({
    "employment_type": st.sampled_from(("full-time", "part-time", "contract")),
    "experience_level": st.sampled_from(("entry", "mid", "senior")),
    "salary": st.one_of(st.none(), st.tuples(st.integers(0, 50), st.integers(0, 30))),
    "remote": st.booleans(),
    "skills": st.lists(st.sampled_from(SKILLS), max_size=3, unique=True),
    "status": st.sampled_from(("active", "active", "active", "draft", "closed")),
    "age_minutes": st.integers(0, 5),  # repeated timestamps exercise the id tie-breaker
}), min_size=0, max_size=25)

queries = st.fixed_dictionaries({
    "employment_type": st.one_of(st.none(), st.sampled_from(("full-time", "contract"))),
    "experience_level": st.one_of(st.none(), st.sampled_from(("mid", "senior"))),
    "salary_min": st.one_of(st.none(), st.integers(0, 60)),
    "salary_max": st.one_of(st.none(), st.integers(60, 100)),
    "remote_only": st.booleans(),
    "skills": st.lists(st.sampled_from(SKILLS), max_size=2, unique=True),
    "sort_by": st.sampled_from(("created_at", "salary")),
    "order": st.sampled_from(("desc", "asc")),
    "limit": st.integers(1, 7),
})


def _matches(row: dict[str, Any], query: dict[str, Any]) -> bool:
    if row["status"] != "active":
        return False
    for field in ("employment_type", "experience_level"):
        if query[field] is not None and row[field] != query[field]:
            return False
    low, high = row["salary_min"], row["salary_max"]
    if query["salary_min"] is not None and (high is None or high < query["salary_min"]):
        return False
    if query["salary_max"] is not None and (low is None or low > query["salary_max"]):
        return False
    if query["remote_only"] and not row["remote"]:
        return False
    return not (query["skills"] and not set(query["skills"]) & set(row["skills"]))


def _expected_order(rows: list[dict[str, Any]], query: dict[str, Any]) -> list[int]:
    descending = query["order"] == "desc"
    if query["sort_by"] == "salary":
        def key(row: dict[str, Any]) -> tuple[int, int]:
            value = row["salary_max"] if row["salary_max"] is not None else -1
            return (value, row["id"])
    else:
        def key(row: dict[str, Any]) -> tuple[dt.datetime, int]:  # type: ignore[misc]
            return (row["created_at"], row["id"])
    return [row["id"] for row in sorted(rows, key=key, reverse=descending)]


def check_total(page: search.SearchResult, matches: int, up_to: int) -> None:
    """Exact (not flagged) is the true number; a flagged lower bound only past the threshold,
    at least the threshold and never more than the matches."""
    if page.total_is_lower_bound:
        assert matches > up_to
        assert up_to <= page.total <= matches
    else:
        assert page.total == matches
    if matches <= up_to:
        assert not page.total_is_lower_bound


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=job_rows, query=queries, up_to=st.one_of(st.just(search.EXACT_TOTAL_UP_TO),
                                                     st.integers(0, 8)))
def test_search_equals_brute_force(own_database: Database, cache: Cache,
                                   monkeypatch: pytest.MonkeyPatch, rows: list[dict[str, Any]],
                                   query: dict[str, Any], up_to: int) -> None:
    monkeypatch.setattr(search, "EXACT_TOTAL_UP_TO", up_to)
    store = totals.Totals(cache, generation="test:property:jobs-generation")
    cache.client.incr(store.generation)  # the rows change below: what a job change does
    with own_database.session_scope() as session:
        session.execute(sa.delete(Job))
        company = session.scalar(sa.select(Company).limit(1))
        if company is None:
            company = Company(name="Property Co", slug="property-co")
            session.add(company)
            session.flush()
        stored: list[dict[str, Any]] = []
        for row in rows:
            low, high = (None, None) if row["salary"] is None else (
                row["salary"][0], row["salary"][0] + row["salary"][1])
            job = Job(company_id=company.id, title="Engineer", description="d" * 60,
                      employment_type=row["employment_type"],
                      experience_level=row["experience_level"], salary_min=low, salary_max=high,
                      remote_work_allowed=row["remote"], skills_required=row["skills"],
                      status=row["status"],
                      created_at=NOW - dt.timedelta(days=1, minutes=row["age_minutes"]))
            session.add(job)
            session.flush()
            stored.append({**row, "id": job.id, "salary_min": low, "salary_max": high,
                           "created_at": job.created_at})
    raw = {k: v for k, v in query.items() if v is not None}
    params = search.validate(raw)
    expected = _expected_order([r for r in stored if _matches(r, query)], query)

    with own_database.read_connection() as session:
        by_offset: list[int] = []
        offset = 0
        while True:
            page = search.search(session, search.validate({**raw, "offset": offset}), now=NOW,
                                 store=store)
            check_total(page, len(expected), up_to)
            by_offset += [row.id for row in page.rows]
            offset += params.limit
            if len(page.rows) < params.limit:
                break
        past_the_end = search.search(
            session, search.validate({**raw, "offset": len(expected) + 5}), now=NOW, store=store)
        assert list(past_the_end.rows) == []
        check_total(past_the_end, len(expected), up_to)
        by_cursor: list[int] = []
        cursor: str | None = None
        for _ in range(len(expected) + 2):
            page = search.search(session, search.validate({**raw, "cursor": cursor}), now=NOW,
                                 store=store)
            check_total(page, len(expected), up_to)  # every match, not what follows the cursor
            by_cursor += [row.id for row in page.rows]
            cursor = page.next_cursor or None
            if cursor is None:
                break
    assert by_offset == expected
    assert by_cursor == expected
