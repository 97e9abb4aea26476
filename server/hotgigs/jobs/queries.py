"""SQL statements of the jobs module; nothing here commits. The public search is a hot read
(STYLE.md, "Hot reads"): its statements are built once per `SearchShape` and return rows;
jobs/search.py validates and binds the values, jobs/convert.py turns rows into messages."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.companies import service as companies_service
from hotgigs.db import PLAN_EACH_EXECUTION, Reader, any_id
from hotgigs.models import SEARCH_CONFIG, Job

#: A job's summary (what an application shows of its job: `id`, `title`, `company_id`,
#: `location`, `employment_type`, `experience_level`, `status`, `remote_work_allowed`) as a
#: Core selectable another module joins into its own hot read (applications' lists). Like
#: companies' PUBLIC_SUMMARY: a lightweight table of those columns that renders as `jobs`.
SUMMARY: sa.TableClause = sa.table(
    Job.__tablename__,
    *(sa.column(column.name, column.type) for column in Job.__table__.c
      if column.name in ("id", "title", "company_id", "location", "employment_type",
                         "experience_level", "status", "remote_work_allowed")))

_SUMMARY_ROW = sa.select(*(Job.__table__.c[column.name] for column in SUMMARY.c),
                         Job.application_deadline).where(
    Job.id == sa.bindparam("job_id", type_=sa.Integer))


def summary_row(reader: Reader, job_id: int) -> Any:
    """The job's SUMMARY columns and its application_deadline as a row, or None."""
    return reader.execute(_SUMMARY_ROW, {"job_id": job_id}).first()


_JOB_IDS_OF_COMPANIES = (sa.select(Job.id)
                         .where(Job.company_id == any_id("company_ids"))
                         .order_by(Job.id))
_COMPANY_OF = sa.select(Job.company_id).where(Job.id == sa.bindparam("job_id", type_=sa.Integer))


def job_ids_of_companies(reader: Reader, company_ids: Iterable[int]) -> list[int]:
    ids = sorted(set(company_ids))
    if not ids:
        return []
    return list(reader.scalars(_JOB_IDS_OF_COMPANIES, {"company_ids": ids}))


def company_of(reader: Reader, job_id: int) -> int | None:
    company_id: int | None = reader.scalar(_COMPANY_OF, {"job_id": job_id})
    return company_id


def jobs_by_id(session: Session, job_ids: Iterable[int]) -> dict[int, Job]:
    ids = sorted(set(job_ids))
    if not ids:
        return {}
    return {job.id: job for job in session.scalars(sa.select(Job).where(Job.id.in_(ids)))}


def match_pool(session: Session, *, skills: Sequence[str], words: str, limit: int) -> list[Job]:
    """Active jobs sharing a skill or matching the words (full text), newest first."""
    conditions: list[sa.ColumnElement[bool]] = []
    if skills:
        conditions.append(Job.skills_required.overlap(list(skills)))
    if words:
        conditions.append(Job.search_vector.op("@@")(sa.func.websearch_to_tsquery("english", words)))
    if not conditions:
        return []
    return list(session.scalars(sa.select(Job).where(Job.status == "active", sa.or_(*conditions))
                                .order_by(Job.created_at.desc()).limit(limit)))


# ---- public search: Core statements built once per shape, rows as named tuples --------------
_JOB = Job.__table__.c
#: The company summary that companies exports for joins (companies.service.public_summary).
_SUMMARY = companies_service.public_summary()
_COMPANY = _SUMMARY.c

#: What a search row holds: the job's columns under their `Job` names and its company's summary
#: under `company_*` names (jobs.convert.job_row_to_proto reads them).
_ROW = (_JOB.id, _JOB.company_id, _JOB.title, _JOB.description, _JOB.requirements, _JOB.location,
        _JOB.employment_type, _JOB.experience_level, _JOB.salary_min, _JOB.salary_max,
        _JOB.currency, _JOB.skills_required, _JOB.benefits, _JOB.remote_work_allowed, _JOB.status,
        _JOB.application_deadline, _JOB.created_at, _JOB.updated_at, _JOB.published_at,
        _COMPANY.name.label("company_name"), _COMPANY.logo_url.label("company_logo_url"),
        _COMPANY.industry.label("company_industry"),
        _COMPANY.location.label("company_location"), _COMPANY.company_size)


@dataclasses.dataclass(frozen=True)
class SearchShape:
    """What a search's SQL depends on, values aside: the filters given (names of
    `SEARCH_FILTERS`), the sort, and whether a cursor narrows the page. There are few shapes,
    so each statement is built, cache-keyed and compiled once (SQLAlchemy's compiled cache)."""

    filters: tuple[str, ...] = ()
    sort_by: str = "created_at"
    order: str = "desc"
    after_cursor: bool = False


def _tsquery() -> sa.ColumnElement[Any]:
    return sa.func.websearch_to_tsquery(SEARCH_CONFIG, sa.bindparam("search", type_=sa.String))


def _lower_location() -> sa.ColumnElement[str]:
    return sa.func.lower(_JOB.location)


def _salary() -> sa.ColumnElement[int]:
    """The salary sort key, written as ix_jobs_active_salary's expression (a literal -1, not a
    bound value, or the index would not match)."""
    return sa.func.coalesce(_JOB.salary_max, _JOB.salary_min, sa.literal_column("-1"))


#: The optional filters and their conditions, each reading its bound values by name (search.py
#: binds them: `search`, `location`, `location_like`, `skills`, ...).
SEARCH_FILTERS: dict[str, Callable[[], sa.ColumnElement[bool]]] = {
    "search": lambda: _JOB.search_vector.op("@@")(_tsquery()),
    "location": lambda: sa.or_(
        _lower_location().like(sa.bindparam("location_like", type_=sa.String), escape="\\"),
        _lower_location().op("%")(sa.bindparam("location", type_=sa.String))),
    "employment_type": lambda: _JOB.employment_type == sa.bindparam("employment_type"),
    "experience_level": lambda: _JOB.experience_level == sa.bindparam("experience_level"),
    "salary_min": lambda: sa.func.coalesce(_JOB.salary_max, _JOB.salary_min)
    >= sa.bindparam("salary_min", type_=sa.Integer),
    "salary_max": lambda: sa.func.coalesce(_JOB.salary_min, _JOB.salary_max)
    <= sa.bindparam("salary_max", type_=sa.Integer),
    "remote_only": lambda: _JOB.remote_work_allowed.is_(True),
    "skills": lambda: _JOB.skills_required.overlap(sa.bindparam("skills")),
    "company_id": lambda: _JOB.company_id == sa.bindparam("company_id", type_=sa.Integer),
}


#: The search's statements are planned for their values on every execution (db.py): which
#: index serves a page depends on how common the words are.
_PLANNED_PER_VALUE: Mapping[str, Any] = {PLAN_EACH_EXECUTION: True}


@functools.lru_cache(maxsize=1024)
def _where(filters: tuple[str, ...]) -> tuple[sa.ColumnElement[bool], ...]:
    """Public (active, deadline not passed at `now`) plus the given filters."""
    return (_JOB.status == "active",
            sa.or_(_JOB.application_deadline.is_(None),
                   _JOB.application_deadline > sa.bindparam("now", type_=sa.DateTime(timezone=True))),
            *(SEARCH_FILTERS[name]() for name in filters))


def _order_by(shape: SearchShape) -> list[Any]:
    descending = shape.order == "desc"
    if shape.sort_by == "relevance" and "search" in shape.filters:
        rank = sa.func.ts_rank_cd(_JOB.search_vector, _tsquery())
        return [rank.desc() if descending else rank.asc(), _JOB.created_at.desc(), _JOB.id.desc()]
    column = _salary() if shape.sort_by == "salary" else _JOB.created_at
    return [column.desc() if descending else column.asc(),
            _JOB.id.desc() if descending else _JOB.id.asc()]


def _after_cursor(shape: SearchShape) -> sa.ColumnElement[bool]:
    """Rows after the cursor's (sort key, id), in the sort's direction."""
    salary = shape.sort_by == "salary"
    key = sa.bindparam("after_key", type_=sa.Integer if salary else sa.DateTime(timezone=True))
    after = sa.tuple_(_salary() if salary else _JOB.created_at, _JOB.id)
    last = sa.tuple_(key, sa.bindparam("after_id", type_=sa.Integer))
    return after < last if shape.order == "desc" else after > last


@functools.lru_cache(maxsize=1024)
def search_page_statement(shape: SearchShape) -> sa.Select[Any]:
    """One page of `shape`: rows of `_ROW`, no count, so PostgreSQL may stop after the page (the
    partial (created_at, id) or salary index read in order with the filters checked on each row,
    or the GIN index and a top-N sort of few matches; its statistics choose). Bound values:
    those of the filters, `now`, `limit`, `offset`, and with a cursor `after_key`, `after_id`."""
    where = _where(shape.filters)
    if shape.after_cursor:
        where = (*where, _after_cursor(shape))
    return (sa.select(*_ROW)
            .join_from(Job.__table__, _SUMMARY, _COMPANY.id == _JOB.company_id)
            .where(*where).order_by(*_order_by(shape))
            .limit(sa.bindparam("limit", type_=sa.Integer))
            .offset(sa.bindparam("offset", type_=sa.Integer))
            .execution_options(**_PLANNED_PER_VALUE))


_JOB_ROW = (sa.select(*_ROW).join_from(Job.__table__, _SUMMARY, _COMPANY.id == _JOB.company_id)
            .where(_JOB.id == sa.bindparam("job_id", type_=sa.Integer)))


def job_row(reader: Reader, job_id: int) -> Any:
    """The job (any status) as a row like a search row (no `matches`), or None: the
    detail's hot read."""
    return reader.execute(_JOB_ROW, {"job_id": job_id}).first()


@functools.lru_cache(maxsize=1024)
def search_count_statement(filters: tuple[str, ...]) -> sa.Select[Any]:
    """The number of matches, counted no further than the bound value `up_to`: the work is
    bounded however many jobs match."""
    matches = (sa.select(sa.literal_column("1")).select_from(Job.__table__)
               .where(*_where(filters)).limit(sa.bindparam("up_to", type_=sa.Integer))
               .subquery("matches"))
    return sa.select(sa.func.count()).select_from(matches).execution_options(**_PLANNED_PER_VALUE)


@functools.lru_cache(maxsize=256)
def _facet_statements(filters: tuple[str, ...]) -> tuple[sa.Select[Any], ...]:
    where = _where(filters)
    return (*(sa.select(column, sa.func.count()).where(*where).group_by(column)
              .execution_options(**_PLANNED_PER_VALUE)
              for column in (_JOB.employment_type, _JOB.experience_level)),
            sa.select(sa.func.count()).select_from(Job.__table__)
            .where(*where, _JOB.remote_work_allowed.is_(True))
            .execution_options(**_PLANNED_PER_VALUE))


def search_page(connection: sa.Connection, shape: SearchShape,
                values: Mapping[str, Any]) -> Sequence[sa.Row[Any]]:
    return connection.execute(search_page_statement(shape), values).all()


def count_matches(connection: sa.Connection, filters: tuple[str, ...],
                  values: Mapping[str, Any], *, up_to: int) -> int:
    """min(matches, up_to)."""
    return int(connection.execute(search_count_statement(filters),
                                  {**values, "up_to": up_to}).scalar() or 0)


def facets(connection: sa.Connection, filters: tuple[str, ...],
           values: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Matches by employment type, by experience level, and how many allow remote work."""
    by_type, by_level, remote = _facet_statements(filters)
    return {"employment_type": {str(v): int(n) for v, n in connection.execute(by_type, values)},
            "experience_level": {str(v): int(n) for v, n in connection.execute(by_level, values)},
            "remote": {"true": int(connection.execute(remote, values).scalar() or 0)}}


def job_counts(session: Session, where: Sequence[sa.ColumnElement[bool]]) -> dict[str, Any]:
    """Jobs matching `where`: total, by status, type and level (their applications are
    counted by the read model, `hotgigs.analytics.service`)."""
    def grouped(column: Any) -> dict[str, int]:
        rows = session.execute(sa.select(column, sa.func.count()).where(*where).group_by(column))
        return {str(value): int(count) for value, count in rows}

    total = session.scalar(sa.select(sa.func.count()).select_from(Job).where(*where))
    return {"total_jobs": int(total or 0), "by_status": grouped(Job.status),
            "by_employment_type": grouped(Job.employment_type),
            "by_experience_level": grouped(Job.experience_level)}
