"""Candidate search and profiles for company and recruiter users; the candidates module owns no
tables and reads the users module's through `users.service` (the SQL is in users/queries.py).

Only active candidates with a public profile are found. Skills: overlap with the profile's
skills (stored lower-case; GIN index). Location: substring or trigram similarity on the
profile's location (trigram GIN index). Salary: the desired range overlaps the asked range.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hotgigs import visibility
from hotgigs.applications import service as applications_service
from hotgigs.context import Principal
from hotgigs.core import limits, pagination
from hotgigs.core.rpc import ADMIN, CANDIDATE, COMPANY, RECRUITER
from hotgigs.documents import service as documents_service
from hotgigs.errors import NotFound, PermissionDenied
from hotgigs.models import AVAILABILITIES, EXPERIENCE_LEVELS
from hotgigs.users import service as users_service
from hotgigs.validation import Validator

if TYPE_CHECKING:  # the documents module's entity, as it hands it over
    from hotgigs.models import Document

CandidateFilter = users_service.CandidateFilter


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchIn:
    """A candidate search as the caller sent it."""

    skills: tuple[str, ...] = ()
    location: str = ""
    experience_level: str = ""
    availability: str = ""
    salary_min: int | None = None
    salary_max: int | None = None
    remote_only: bool = False
    limit: int | None = None
    offset: int = 0


@dataclasses.dataclass(frozen=True)
class Search:
    """A validated search: the filters and the window."""

    filters: CandidateFilter
    limit: int
    offset: int


@dataclasses.dataclass(frozen=True)
class Found:
    """One page of hits, who the caller is to each candidate, and the true total."""

    search: Search
    hits: list[users_service.CandidateHit]
    audiences: dict[int, set[visibility.Audience]]
    total: int


@dataclasses.dataclass(frozen=True)
class CandidateView:
    """A candidate's profile with the documents the caller may read and who the caller is."""

    profile: users_service.Profile
    documents: list[Document]
    audiences: set[visibility.Audience]


def validate(search_in: SearchIn) -> Search:
    check = Validator()
    skills = tuple(s.lower() for s in check.text_list("skills", search_in.skills,
                                                      max_items=limits.TAGS_MAX,
                                                      max_length=limits.TAG))
    filters = CandidateFilter(
        skills=skills,
        location=check.text("location", search_in.location or None,
                            max_length=limits.LOCATION) or None,
        experience_level=check.choice("experience_level", search_in.experience_level,
                                      EXPERIENCE_LEVELS),
        availability=check.choice("availability", search_in.availability, AVAILABILITIES),
        salary_min=check.number("salary_min", search_in.salary_min, minimum=0),
        salary_max=check.number("salary_max", search_in.salary_max, minimum=0),
        remote_only=search_in.remote_only)
    if (filters.salary_min is not None and filters.salary_max is not None
            and filters.salary_min > filters.salary_max):
        check.fail("salary_min", "must not exceed salary_max")
    limit = pagination.limit(check, search_in.limit)
    offset = pagination.offset(check, search_in.offset)
    check.check("Search parameters are invalid")
    return Search(filters, limit, offset)


def _audiences(session: Session, actor: Principal, candidate_ids: list[int]
               ) -> dict[int, set[visibility.Audience]]:
    """Who `actor` is to each candidate (an applicant of their companies or not)."""
    applicants = applications_service.applicants_of(session, viewer_id=actor.user_id,
                                                    candidate_ids=candidate_ids)
    return {i: visibility.audiences(actor, subject_id=i, applicant=i in applicants)
            for i in candidate_ids}


def search(session: Session, *, actor: Principal, search: Search) -> Found:
    """Candidates matching a validated search (`validate`, done before the transaction); the
    policy table already limits this to companies, recruiters and admins."""
    checked = search
    hits, total = users_service.search_candidates(session, filters=checked.filters,
                                                  limit=checked.limit, offset=checked.offset)
    return Found(checked, hits, _audiences(session, actor, [hit.user.id for hit in hits]), total)


def get(session: Session, *, actor: Principal, candidate_id: int) -> CandidateView:
    """Employers see public candidates; a candidate sees only themself."""
    if actor.role == CANDIDATE and actor.user_id != candidate_id:
        raise PermissionDenied("Candidates see only their own profile", reason="NOT_YOURS")
    profile = users_service.get_public_profile(session, user_id=candidate_id)
    if profile.user.user_type != CANDIDATE or (
            profile.candidate_profile is None and actor.user_id != candidate_id):
        raise NotFound(f"Candidate {candidate_id} not found", reason="CANDIDATE_NOT_FOUND")
    if actor.user_id != candidate_id and actor.role not in (COMPANY, RECRUITER, ADMIN):
        raise NotFound(f"Candidate {candidate_id} not found", reason="CANDIDATE_NOT_FOUND")
    documents = documents_service.list_readable(session, actor=actor, owner_id=candidate_id)
    return CandidateView(profile, documents, _audiences(session, actor, [candidate_id])[candidate_id])


def get_mine(session: Session, *, actor: Principal) -> CandidateView:
    """The caller's own candidate profile with all their documents."""
    profile = users_service.get_profile(session, actor=actor)
    documents = documents_service.list_readable(session, actor=actor, owner_id=actor.user_id)
    return CandidateView(profile, documents, {visibility.SELF})


def stats(session: Session) -> tuple[int, dict[str, int], dict[str, int]]:
    return users_service.candidate_stats(session)


def update_mine(session: Session, *, actor: Principal,
                update_in: users_service.CandidateProfileUpdateIn) -> users_service.Profile:
    """Change the caller's candidate profile (the users module's rules); the profile after."""
    users_service.update_candidate_profile(session, actor=actor, update_in=update_in)
    session.flush()
    profile = users_service.get_profile(session, actor=actor)
    session.refresh(profile.user)  # onupdate timestamps for the answer
    return profile
