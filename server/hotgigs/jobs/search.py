"""Public job search: every filter in SQL before paging, bounded totals, facets, keyset cursor.

Full text: `websearch_to_tsquery('english', q)` against the weighted `search_vector`
(title A, skills B, requirements C, description D; GIN index), so any user input is safe.
Location: case-insensitive substring OR trigram similarity (`%`), both served by the trigram
GIN index on lower(location). Salary: the job's range overlaps the asked range. Skills: array
overlap (GIN). Only active jobs whose deadline has not passed are public.

Cost does not grow with the number of matches: the page query counts nothing (PostgreSQL may
stop after the page), and the total is exact up to `EXACT_TOTAL_UP_TO` matches, above it that
number as a lower bound (`total_is_lower_bound`); a page that reaches the end settles the total
itself, otherwise a count bounded by the threshold runs once per filter set and jobs generation
(`jobs.totals`).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from hotgigs.core import limits, pagination
from hotgigs.errors import InvalidArgument
from hotgigs.jobs import queries, totals
from hotgigs.models import EMPLOYMENT_TYPES, EXPERIENCE_LEVELS
from hotgigs.validation import Validator

SORTS = ("created_at", "relevance", "salary")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # a cursor's id and salary are PostgreSQL integers
ORDERS = ("desc", "asc")
#: Totals are exact up to this many matches; a search with more answers a lower bound (this
#: number, or the matches its page proves when more) flagged `total_is_lower_bound`.
EXACT_TOTAL_UP_TO = 10_000


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

    @functools.cached_property
    def total_digest(self) -> str:
        """What the search's total is kept under (`jobs.totals`): its filters, their values
        and the threshold, not its sort, page or cursor (made once per search)."""
        return totals.digest(shape(self).filters, filter_values(self), EXACT_TOTAL_UP_TO)


@dataclasses.dataclass(frozen=True)
class SearchResult:
    rows: Sequence[sa.Row[Any]]  # queries.search_page's rows: the job's columns and company_*
    total: int
    next_cursor: str
    facets: dict[str, dict[str, int]] | None
    total_is_lower_bound: bool = False


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


def shape(params: SearchIn) -> queries.SearchShape:
    """The SQL shape of a search: which filters it has, its sort, whether a cursor narrows it."""
    filters = tuple(name for name in queries.SEARCH_FILTERS if name != "remote_only"
                    and getattr(params, name) not in (None, ()))
    if params.remote_only:
        filters = (*filters, "remote_only")
    sort_by = params.sort_by if params.sort_by != "relevance" or params.search else "created_at"
    return queries.SearchShape(filters=filters, sort_by=sort_by, order=params.order,
                               after_cursor=params.cursor is not None)


def values(params: SearchIn, now: dt.datetime) -> dict[str, Any]:
    """The bound values of the search's statements (the names queries.SEARCH_FILTERS reads)."""
    return {"now": now, **filter_values(params)}


def filter_values(params: SearchIn) -> dict[str, Any]:
    """`values` but `now`: what the filters compare with."""
    bound: dict[str, Any] = {}
    for name in ("search", "employment_type", "experience_level", "salary_min", "salary_max",
                 "company_id"):
        value = getattr(params, name)
        if value is not None:
            bound[name] = value
    if params.location is not None:
        lowered = params.location.lower()
        escaped = lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        bound["location"], bound["location_like"] = lowered, f"%{escaped}%"
    if params.skills:
        bound["skills"] = list(params.skills)
    return bound


def _cursor_key(params: SearchIn, job: Any) -> list[Any]:
    if params.sort_by == "salary":
        value = job.salary_max if job.salary_max is not None else job.salary_min
        return [-1 if value is None else value, job.id]
    return [job.created_at.isoformat(), job.id]


def encode_cursor(params: SearchIn, job: Any) -> str:
    """The cursor after `job` (a row or entity with the job's columns)."""
    payload = {"s": params.sort_by, "o": params.order, "k": _cursor_key(params, job)}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _after_cursor(params: SearchIn) -> dict[str, Any]:
    """The cursor's (sort key, id) as the bound values `after_key` and `after_id`."""
    token = params.cursor or ""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if payload["s"] != params.sort_by or payload["o"] != params.order:
            raise ValueError("cursor of another sort")
        value, last_id = payload["k"]
        key: Any = int(value) if params.sort_by == "salary" else dt.datetime.fromisoformat(value)
        if isinstance(key, dt.datetime) and key.tzinfo is None:
            raise ValueError("cursor time without a zone")
        last_id = int(last_id)
        if not (_INT_MIN <= last_id <= _INT_MAX and (not isinstance(key, int)
                                                      or _INT_MIN <= key <= _INT_MAX)):
            raise ValueError("cursor value out of range")
    except (ValueError, KeyError, TypeError, OverflowError, json.JSONDecodeError):
        raise InvalidArgument("cursor is not valid for this search") from None
    return {"after_key": key, "after_id": last_id}


def _total(connection: sa.Connection, params: SearchIn, filters: tuple[str, ...],
           bound: dict[str, Any], rows: Sequence[Any], store: totals.Totals | None
           ) -> tuple[int, bool]:
    """(total, whether it is a lower bound) of a search whose page query returned `rows` (up to
    limit + 1)."""
    if not params.cursor and len(rows) <= params.limit and (rows or not params.offset):
        return params.offset + len(rows), False  # the page reaches the last match
    up_to = EXACT_TOTAL_UP_TO
    key, counted = (None, None) if store is None else store.get(params.total_digest)
    if counted is None:
        counted = queries.count_matches(connection, filters, bound, up_to=up_to + 1)
        if store is not None and key is not None:
            store.put(key, counted)
    if counted <= up_to:
        return counted, False
    proven = params.offset + len(rows) if rows and not params.cursor else 0  # rows that exist
    return max(up_to, proven), True


def search(connection: sa.Connection, params: SearchIn, *, now: dt.datetime | None = None,
           store: totals.Totals | None = None) -> SearchResult:
    """One page of public jobs, its total (exact up to EXACT_TOTAL_UP_TO; kept in `store`
    when given) and facets when asked for."""
    sql_shape = shape(params)
    bound = values(params, now or dt.datetime.now(dt.UTC))
    page = {**bound, "limit": params.limit + 1, "offset": 0 if params.cursor else params.offset}
    if params.cursor:
        page.update(_after_cursor(params))
    rows = queries.search_page(connection, sql_shape, page)
    total, lower_bound = _total(connection, params, sql_shape.filters, bound, rows, store)
    more = len(rows) > params.limit
    rows = rows[:params.limit]
    next_cursor = encode_cursor(params, rows[-1]) if more and params.sort_by != "relevance" \
        else ""
    return SearchResult(rows=rows, total=total, next_cursor=next_cursor,
                        facets=queries.facets(connection, sql_shape.filters, bound)
                        if params.include_facets else None, total_is_lower_bound=lower_bound)
