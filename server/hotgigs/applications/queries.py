"""SQL statements of the applications module; nothing here commits.

An application that is not withdrawn makes the candidate an applicant of the hiring company:
its members see the candidate's e-mail and the one document the application attached
(`resume_document_id`). Withdrawing ends both at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import ApplicationStatusHistory, JobApplication

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


SORTS = {"applied_at": JobApplication.applied_at, "updated_at": JobApplication.updated_at,
         "status": JobApplication.status}


def order(sort_by: str, direction: str) -> Any:
    column = SORTS.get(sort_by or "applied_at", JobApplication.applied_at)
    return column.asc() if direction.lower() == "asc" else column.desc()


def page(session: Session, where: list[sa.ColumnElement[bool]], *, offset: int, limit: int,
         order_by: Any) -> tuple[list[JobApplication], int]:
    """One page (newest id last among equals) and the true total."""
    total = session.scalar(sa.select(sa.func.count()).select_from(JobApplication).where(*where))
    items = list(session.scalars(sa.select(JobApplication).where(*where)
                                 .order_by(order_by, JobApplication.id.desc())
                                 .limit(limit).offset(offset)))
    return items, int(total or 0)


def counts_by_status(session: Session, where: sa.ColumnElement[bool]) -> dict[str, int]:
    rows = session.execute(sa.select(JobApplication.status, sa.func.count())
                           .where(where).group_by(JobApplication.status))
    return {str(status): int(count) for status, count in rows}


def history_of(session: Session, application_ids: list[int]
               ) -> dict[int, list[ApplicationStatusHistory]]:
    found: dict[int, list[ApplicationStatusHistory]] = {i: [] for i in application_ids}
    for entry in session.scalars(sa.select(ApplicationStatusHistory)
                                 .where(ApplicationStatusHistory.application_id.in_(application_ids))
                                 .order_by(ApplicationStatusHistory.id)):  # insertion order
        found[entry.application_id].append(entry)
    return found

