"""What an application opens to the hiring company, and for how long.

A candidate's application that is not withdrawn makes the candidate an applicant of the
company: its members see the candidate's e-mail and the one document the application
attached (`resume_document_id`). Withdrawing ends both at once; other documents of the
candidate are never theirs to read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.context import Principal
from hotgigs.core.rpc import ADMIN, COMPANY, RECRUITER
from hotgigs.models import CompanyMember, Job, JobApplication
from hotgigs.visibility import ADMIN as SEE_ADMIN
from hotgigs.visibility import APPLICANT_COMPANY, EMPLOYER, MEMBER, PUBLIC, SELF, Audience

CLOSED_TO_COMPANY = ("withdrawn",)


def _open_to(viewer_id: int) -> sa.ColumnElement[bool]:
    """Applications (not withdrawn) to jobs of companies `viewer_id` is a member of."""
    companies = sa.select(CompanyMember.company_id).where(CompanyMember.user_id == viewer_id)
    jobs = sa.select(Job.id).where(Job.company_id.in_(companies))
    return sa.and_(JobApplication.job_id.in_(jobs),
                   JobApplication.status.not_in(CLOSED_TO_COMPANY))


def applicants_of(session: Session, *, viewer_id: int, candidate_ids: Iterable[int]) -> set[int]:
    """The candidates among `candidate_ids` with an open application to the viewer's companies."""
    wanted = set(candidate_ids)
    if not wanted:
        return set()
    return set(session.scalars(sa.select(JobApplication.candidate_id).distinct().where(
        _open_to(viewer_id), JobApplication.candidate_id.in_(wanted))))


def attached_documents(viewer_id: int, owner_id: int) -> sa.Select[Any]:
    """Ids of `owner_id`'s documents attached to their open applications to the viewer's
    companies."""
    return sa.select(JobApplication.resume_document_id).where(
        _open_to(viewer_id), JobApplication.candidate_id == owner_id,
        JobApplication.resume_document_id.is_not(None))


def audiences(actor: Principal, *, subject_id: int, applicant: bool = False,
              member: bool = False) -> set[Audience]:
    """Who `actor` is relative to a resource about user `subject_id`."""
    found: set[Audience] = set()
    if actor.user_id == subject_id:
        found.add(SELF)
    if actor.role == ADMIN:
        found.add(SEE_ADMIN)
    if actor.role in (COMPANY, RECRUITER):
        found.add(EMPLOYER)
    if member:
        found.add(MEMBER)
    if applicant:
        found.add(APPLICANT_COMPANY)
    return found or {PUBLIC}
