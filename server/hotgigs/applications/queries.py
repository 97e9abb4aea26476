"""SQL statements of the applications module; nothing here commits.

An application that is not withdrawn makes the candidate an applicant of the hiring company:
its members see the candidate's e-mail and the one document the application attached
(`resume_document_id`). Withdrawing ends both at once.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import JobApplication

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
