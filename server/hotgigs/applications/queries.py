"""SQL statements of the applications module; nothing here commits.

An application that is not withdrawn makes the candidate an applicant of the hiring company:
its members see the candidate's e-mail and the one document the application attached
(`resume_document_id`). Withdrawing ends both at once.

The lists (a candidate's own, a company's pipeline) are hot reads (STYLE.md, "Hot reads"):
their statements are built once per `ListShape` and return rows with the job's and the
candidate's summaries joined in; applications/convert.py turns rows into messages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.db import Reader, Writer, any_id
from hotgigs.jobs import service as jobs_service
from hotgigs.models import APPLICATION_STATUSES, ApplicationStatusHistory, JobApplication
from hotgigs.users import service as users_service

CLOSED_TO_COMPANY = ("withdrawn",)


def _open_to(job_ids: Iterable[int]) -> sa.ColumnElement[bool]:
    """Applications (not withdrawn) to the jobs `job_ids`."""
    return sa.and_(JobApplication.job_id.in_(list(job_ids)),
                   JobApplication.status.not_in(CLOSED_TO_COMPANY))


def applicants_among(session: Session, *, job_ids: Iterable[int], candidate_ids: Iterable[int]
                     ) -> set[int]:
    """The candidates among `candidate_ids` with an open application to one of `job_ids`."""
    return set(session.scalars(sa.select(JobApplication.candidate_id).distinct().where(
        _open_to(job_ids), JobApplication.candidate_id.in_(list(candidate_ids)))))


def attached_document_ids(session: Session, *, job_ids: Iterable[int], owner_id: int) -> set[int]:
    """Ids of `owner_id`'s documents attached to their open applications to `job_ids`."""
    return {document_id for document_id in session.scalars(
        sa.select(JobApplication.resume_document_id).where(
            _open_to(job_ids), JobApplication.candidate_id == owner_id,
            JobApplication.resume_document_id.is_not(None))) if document_id is not None}


def visible(*, candidate_id: int | None = None, job_ids: Iterable[int] | None = None
            ) -> sa.ColumnElement[bool]:
    """Applications of one candidate, or to some jobs, or (neither given) all of them."""
    if candidate_id is not None:
        return JobApplication.candidate_id == candidate_id
    if job_ids is not None:
        return JobApplication.job_id.in_(list(job_ids))
    return sa.true()


def of_job(job_id: int) -> sa.ColumnElement[bool]:
    return JobApplication.job_id == job_id


def with_status(status: str) -> sa.ColumnElement[bool]:
    return JobApplication.status == status


# ---- submission: the application and its first history entry in ONE statement ---------------
_APPLICATIONS = cast(sa.Table, JobApplication.__table__)
_HISTORY_TABLE = cast(sa.Table, ApplicationStatusHistory.__table__)
#: The columns a candidate gives; the rest are server defaults (status applied, timestamps).
SUBMITTED = ("job_id", "candidate_id", "cover_letter", "resume_url", "resume_document_id",
             "expected_salary", "availability_date")
_NEW = (sa.insert(_APPLICATIONS)
        .values({name: sa.bindparam(name, type_=_APPLICATIONS.c[name].type) for name in SUBMITTED})
        .returning(*_APPLICATIONS.c).cte("new_application"))
_FIRST = (sa.insert(_HISTORY_TABLE)
          .from_select(["application_id", "from_status", "to_status", "changed_by"],
                       sa.select(_NEW.c.id, sa.null(), _NEW.c.status, _NEW.c.candidate_id))
          .returning(_HISTORY_TABLE.c.application_id, _HISTORY_TABLE.c.to_status,
                     _HISTORY_TABLE.c.changed_at).cte("first_change"))
_SUBMIT = sa.select(_NEW, _FIRST.c.to_status.label("history_to_status"),
                    _FIRST.c.changed_at.label("history_changed_at")).join_from(
    _NEW, _FIRST, _FIRST.c.application_id == _NEW.c.id)


class Change(NamedTuple):
    """A status change as the answer shows it (the columns of a history row it reads)."""

    from_status: str | None
    to_status: str
    changed_by: int | None
    reason: str | None
    changed_at: dt.datetime


def submit(writer: Writer, values: Mapping[str, Any]) -> tuple[Any, Change]:
    """Insert an application (`values`: the SUBMITTED columns) and its first history entry
    (applied, by the candidate) in one statement: the new row, every column, and the entry.
    A duplicate or a vanished reference raises IntegrityError, as a flush would."""
    row = writer.execute(_SUBMIT, dict(values)).one()
    return row, Change(None, row.history_to_status, row.candidate_id, None,
                       row.history_changed_at)


def counts_by_status(reader: Reader, where: sa.ColumnElement[bool]) -> dict[str, int]:
    rows = reader.execute(sa.select(JobApplication.status, sa.func.count())
                          .where(where).group_by(JobApplication.status))
    return {str(status): int(count) for status, count in rows}


# ---- the lists: Core statements built once per shape, rows as named tuples -------------------
_APP = JobApplication.__table__.c
_JOB = jobs_service.summary_table()
_PERSON = users_service.summary_table()

#: What a list row holds: the application's columns under their `JobApplication` names, its
#: job's summary as `job_*` and its candidate's as `candidate_*` (convert.py reads them).
_ROW = (*JobApplication.__table__.c,
        *(column.label(f"job_{column.name}") for column in _JOB.c if column.name != "id"),
        *(column.label(f"candidate_{column.name}") for column in _PERSON.c if column.name != "id"))

#: Which applications a list covers, each reading its bound value by name.
SCOPES: dict[str, Callable[[], sa.ColumnElement[bool]]] = {
    "candidate": lambda: _APP.candidate_id == sa.bindparam("candidate_id", type_=sa.Integer),
    "jobs": lambda: _APP.job_id == any_id("job_ids"),
    "job": lambda: _APP.job_id == sa.bindparam("job_id", type_=sa.Integer),
    "all": sa.true,
}
SORTS = {"applied_at": _APP.applied_at, "updated_at": _APP.updated_at, "status": _APP.status}


@dataclasses.dataclass(frozen=True)
class ListShape:
    """What a list's SQL depends on, values aside: its scope (a name of SCOPES), whether a
    status filters it, and its order (a name of SORTS; newest id first among equals)."""

    scope: str
    status: bool = False
    sort_by: str = "applied_at"
    order: str = "desc"

    @classmethod
    def of(cls, scope: str, *, status: bool, sort_by: str = "", order: str = "") -> ListShape:
        """The shape, an unknown sort falling back to applied_at and any order but `asc`
        to `desc` (as the original API did)."""
        return cls(scope, status, sort_by if sort_by in SORTS else "applied_at",
                   "asc" if order.lower() == "asc" else "desc")


def _where(shape: ListShape) -> tuple[sa.ColumnElement[bool], ...]:
    status = _APP.status == sa.bindparam("status", type_=sa.String)
    return (SCOPES[shape.scope](), *((status,) if shape.status else ()))


@functools.lru_cache(maxsize=64)
def list_page_statement(shape: ListShape) -> sa.Select[Any]:
    """One page of `shape`: rows of `_ROW` plus `matches`, count(*) OVER () (the true total
    from the same scan). Bound values: the scope's, `status`, `limit`, `offset`."""
    column = SORTS[shape.sort_by]
    return (sa.select(*_ROW, sa.func.count().over().label("matches"))
            .join_from(JobApplication.__table__, _JOB, _JOB.c.id == _APP.job_id)
            .join(_PERSON, _PERSON.c.id == _APP.candidate_id)
            .where(*_where(shape))
            .order_by(column.asc() if shape.order == "asc" else column.desc(), _APP.id.desc())
            .limit(sa.bindparam("limit", type_=sa.Integer))
            .offset(sa.bindparam("offset", type_=sa.Integer)))


@functools.lru_cache(maxsize=64)
def list_count_statement(shape: ListShape) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(JobApplication.__table__).where(*_where(shape))


def list_page(reader: Reader, shape: ListShape, values: Mapping[str, Any], *, offset: int,
              limit: int) -> tuple[Sequence[sa.Row[Any]], int]:
    """One page of rows and the true total (counted apart only for a page past the end)."""
    rows = reader.execute(list_page_statement(shape),
                          {**values, "offset": offset, "limit": limit}).all()
    if rows:
        return rows, int(rows[0].matches)
    if not offset:
        return rows, 0
    return rows, int(reader.execute(list_count_statement(shape), values).scalar() or 0)


_STATUS_COUNTS_OF_JOB = (sa.select(_APP.status, sa.func.count())
                         .where(_APP.job_id == sa.bindparam("job_id", type_=sa.Integer))
                         .group_by(_APP.status))


def status_counts_of_job(reader: Reader, job_id: int) -> dict[str, int]:
    """The count of every status (zeros included) of one job's applications."""
    counts = dict.fromkeys(APPLICATION_STATUSES, 0)
    counts.update({str(status): int(count) for status, count
                   in reader.execute(_STATUS_COUNTS_OF_JOB, {"job_id": job_id})})
    return counts


_H = ApplicationStatusHistory.__table__.c
_HISTORY = (sa.select(ApplicationStatusHistory.__table__)
            .where(_H.application_id == any_id("application_ids"))
            .order_by(_H.id))  # insertion order


def history_of(reader: Reader, application_ids: Sequence[int]) -> dict[int, list[sa.Row[Any]]]:
    """Each application's status changes, oldest first, as rows of the history's columns."""
    found: dict[int, list[sa.Row[Any]]] = {i: [] for i in application_ids}
    if application_ids:
        for entry in reader.execute(_HISTORY, {"application_ids": list(application_ids)}):
            found[entry.application_id].append(entry)
    return found

