"""Public job search: every filter in SQL before paging, true totals, facets, keyset cursor.

Full text: `websearch_to_tsquery('english', q)` against the weighted `search_vector`
(title A, skills B, requirements C, description D; GIN index), so any user input is safe.
Location: case-insensitive substring OR trigram similarity (`%`), both served by the trigram
GIN index on lower(location). Salary: the job's range overlaps the asked range. Skills: array
overlap (GIN). Only active jobs whose deadline has not passed are public.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.core import limits, pagination
from hotgigs.errors import InvalidArgument
from hotgigs.jobs import queries
from hotgigs.models import EMPLOYMENT_TYPES, EXPERIENCE_LEVELS, Job
from hotgigs.validation import Validator

if TYPE_CHECKING:  # the company entity, as the search joins it in
    from hotgigs.models import Company

SORTS = ("created_at", "relevance", "salary")
ORDERS = ("desc", "asc")


@dataclasses.dataclass(frozen=True)
class SearchIn:
    """Validated search parameters."""

    search: str | None = None
    location: str | None = None
    employment_type: str | None = None
    experience_level: str | None = None
    salary_min: int | None = None
    salary_max: int | None = None
    remote_only: bool = False
    skills: tuple[str, ...] = ()
    company_id: int | None = None
    sort_by: str = "created_at"
    order: str = "desc"
    limit: int = pagination.LIMIT_DEFAULT
    offset: int = 0
    cursor: str | None = None
    include_facets: bool = False


@dataclasses.dataclass(frozen=True)
class SearchResult:
    jobs: list[tuple[Job, Company]]
    total: int
    next_cursor: str
    facets: dict[str, dict[str, int]] | None


def validate(raw: dict[str, Any]) -> SearchIn:
    """Check raw parameters; every problem is a field violation of one INVALID_ARGUMENT."""
    check = Validator()
    search = check.text("search", raw.get("search"), max_length=limits.SEARCH_TEXT) or None
    location = check.text("location", raw.get("location"), max_length=limits.LOCATION) or None
    employment_type = check.choice("employment_type", raw.get("employment_type"), EMPLOYMENT_TYPES)
    experience_level = check.choice("experience_level", raw.get("experience_level"),
                                    EXPERIENCE_LEVELS)
    salary_min = check.number("salary_min", raw.get("salary_min"), minimum=0)
    salary_max = check.number("salary_max", raw.get("salary_max"), minimum=0)
    if salary_min is not None and salary_max is not None and salary_min > salary_max:
        check.fail("salary_min", "must not exceed salary_max")
    skills = tuple(s.lower() for s in check.text_list("skills", raw.get("skills", ()),
                                                      max_items=limits.TAGS_MAX, max_length=limits.TAG))
    sort_by = check.choice("sort_by", raw.get("sort_by") or "created_at", SORTS) or "created_at"
    order = check.choice("order", (raw.get("order") or "desc").lower(), ORDERS) or "desc"
    limit = pagination.limit(check, raw.get("limit"))
    offset = pagination.offset(check, raw.get("offset"))
    cursor = raw.get("cursor") or None
    if cursor and sort_by == "relevance":
        check.fail("cursor", "is not available with sort_by=relevance; use offset")
    if cursor and offset:
        check.fail("cursor", "give either cursor or offset, not both")
    check.check("Search parameters are invalid")
    return SearchIn(search=search, location=location, employment_type=employment_type,
                    experience_level=experience_level, salary_min=salary_min, salary_max=salary_max,
                    remote_only=bool(raw.get("remote_only")), skills=skills,
                    company_id=raw.get("company_id"), sort_by=sort_by, order=order,
                    limit=limit, offset=offset, cursor=cursor,
                    include_facets=bool(raw.get("include_facets")))


def _query(params: SearchIn) -> sa.ColumnElement[float] | None:
    if params.search is None:
        return None
    return sa.func.websearch_to_tsquery("english", params.search)


def conditions(params: SearchIn, now: dt.datetime) -> list[sa.ColumnElement[bool]]:
    """The WHERE clause of a search (public: active jobs before their deadline)."""
    where: list[sa.ColumnElement[bool]] = [
        Job.status == "active",
        sa.or_(Job.application_deadline.is_(None), Job.application_deadline > now),
    ]
    query = _query(params)
    if query is not None:
        where.append(Job.search_vector.op("@@")(query))
    if params.location is not None:
        lowered = params.location.lower()
        escaped = lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(sa.or_(sa.func.lower(Job.location).like(f"%{escaped}%", escape="\\"),
                            sa.func.lower(Job.location).op("%")(lowered)))
    if params.employment_type is not None:
        where.append(Job.employment_type == params.employment_type)
    if params.experience_level is not None:
        where.append(Job.experience_level == params.experience_level)
    if params.salary_min is not None:
        where.append(sa.func.coalesce(Job.salary_max, Job.salary_min) >= params.salary_min)
    if params.salary_max is not None:
        where.append(sa.func.coalesce(Job.salary_min, Job.salary_max) <= params.salary_max)
    if params.remote_only:
        where.append(Job.remote_work_allowed.is_(True))
    if params.skills:
        where.append(Job.skills_required.overlap(list(params.skills)))
    if params.company_id is not None:
        where.append(Job.company_id == params.company_id)
    return where


def _sort_columns(params: SearchIn) -> list[Any]:
    descending = params.order == "desc"
    query = _query(params)
    if params.sort_by == "relevance" and query is not None:
        rank = sa.func.ts_rank_cd(Job.search_vector, query)
        return [rank.desc() if descending else rank.asc(),
                Job.created_at.desc(), Job.id.desc()]
    if params.sort_by == "salary":
        salary = sa.func.coalesce(Job.salary_max, Job.salary_min, -1)
        return [salary.desc() if descending else salary.asc(),
                Job.id.desc() if descending else Job.id.asc()]
    return [Job.created_at.desc() if descending else Job.created_at.asc(),
            Job.id.desc() if descending else Job.id.asc()]


def _cursor_key(params: SearchIn, job: Job) -> list[Any]:
    if params.sort_by == "salary":
        value = job.salary_max if job.salary_max is not None else job.salary_min
        return [-1 if value is None else value, job.id]
    return [job.created_at.isoformat(), job.id]


def encode_cursor(params: SearchIn, job: Job) -> str:
    payload = {"s": params.sort_by, "o": params.order, "k": _cursor_key(params, job)}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _after_cursor(params: SearchIn) -> sa.ColumnElement[bool]:
    token = params.cursor or ""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if payload["s"] != params.sort_by or payload["o"] != params.order:
            raise ValueError("cursor of another sort")
        value, last_id = payload["k"]
        if params.sort_by == "salary":
            column: Any = sa.func.coalesce(Job.salary_max, Job.salary_min, -1)
            key: Any = int(value)
        else:
            column, key = Job.created_at, dt.datetime.fromisoformat(value)
        last_id = int(last_id)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise InvalidArgument("cursor is not valid for this search") from None
    if params.order == "desc":
        return sa.tuple_(column, Job.id) < sa.tuple_(key, last_id)
    return sa.tuple_(column, Job.id) > sa.tuple_(key, last_id)


def search(session: Session, params: SearchIn, *, now: dt.datetime | None = None) -> SearchResult:
    moment = now or dt.datetime.now(dt.UTC)
    where = conditions(params, moment)
    page_where = list(where)
    if params.cursor:
        page_where.append(_after_cursor(params))
    # With offset paging the page and the true total come from ONE scan of the matches
    # (count(*) OVER () is taken before LIMIT/OFFSET); a cursor narrows the rows the window
    # sees, and a page past the end has no row to carry it, so those count separately.
    rows = queries.search_page(session, page_where, order_by=_sort_columns(params),
                               limit=params.limit + 1,
                               offset=0 if params.cursor else params.offset)
    if rows and not params.cursor:
        total = rows[0][2]
    elif params.cursor or params.offset:
        total = queries.count_jobs(session, where)
    else:
        total = 0
    jobs = [(row[0], row[1]) for row in rows[:params.limit]]
    more = len(rows) > params.limit
    next_cursor = encode_cursor(params, jobs[-1][0]) if more and params.sort_by != "relevance" \
        else ""
    return SearchResult(jobs=jobs, total=total, next_cursor=next_cursor,
                        facets=queries.facets(session, where) if params.include_facets else None)
