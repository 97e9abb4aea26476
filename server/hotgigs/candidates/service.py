"""Candidate search for company and recruiter users: every filter in SQL before paging.

Only active candidates with a public profile are found. Skills: overlap with the profile's
skills (stored lower-case; GIN index). Location: substring or trigram similarity on the
profile's location (trigram GIN index). Salary: the desired range overlaps the asked range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.context import Principal
from hotgigs.core import limits, pagination
from hotgigs.core.rpc import ADMIN, CANDIDATE, COMPANY, RECRUITER
from hotgigs.errors import NotFound, PermissionDenied
from hotgigs.models import AVAILABILITIES, EXPERIENCE_LEVELS, CandidateProfile, Experience, User
from hotgigs.users import service as users_service
from hotgigs.validation import Validator


@dataclasses.dataclass(frozen=True)
class CandidateFilters:
    skills: tuple[str, ...] = ()
    location: str | None = None
    experience_level: str | None = None
    availability: str | None = None
    salary_min: int | None = None
    salary_max: int | None = None
    remote_only: bool = False


@dataclasses.dataclass(frozen=True)
class Hit:
    user: User
    profile: CandidateProfile
    experience_count: int


def validate(raw: Mapping[str, Any]) -> tuple[CandidateFilters, int, int]:
    check = Validator()
    skills = tuple(s.lower() for s in check.text_list("skills", raw.get("skills", ()),
                                                      max_items=limits.TAGS_MAX, max_length=limits.TAG))
    filters = CandidateFilters(
        skills=skills,
        location=check.text("location", raw.get("location"), max_length=limits.LOCATION) or None,
        experience_level=check.choice("experience_level", raw.get("experience_level"),
                                      EXPERIENCE_LEVELS),
        availability=check.choice("availability", raw.get("availability"), AVAILABILITIES),
        salary_min=check.number("salary_min", raw.get("salary_min"), minimum=0),
        salary_max=check.number("salary_max", raw.get("salary_max"), minimum=0),
        remote_only=bool(raw.get("remote_only")))
    if (filters.salary_min is not None and filters.salary_max is not None
            and filters.salary_min > filters.salary_max):
        check.fail("salary_min", "must not exceed salary_max")
    limit = pagination.limit(check, raw.get("limit"))
    offset = pagination.offset(check, raw.get("offset"))
    check.check("Search parameters are invalid")
    return filters, limit, offset


def conditions(filters: CandidateFilters) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [User.is_active.is_(True), User.user_type == CANDIDATE,
                                           CandidateProfile.is_public.is_(True)]
    if filters.skills:
        where.append(CandidateProfile.skills.overlap(list(filters.skills)))
    if filters.location is not None:
        lowered = filters.location.lower()
        escaped = lowered.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        location = sa.func.lower(CandidateProfile.location)
        where.append(sa.or_(location.like(f"%{escaped}%", escape="\\"),
                            location.op("%")(lowered)))
    if filters.experience_level is not None:
        where.append(CandidateProfile.experience_level == filters.experience_level)
    if filters.availability is not None:
        where.append(CandidateProfile.availability == filters.availability)
    if filters.salary_min is not None:
        where.append(sa.func.coalesce(CandidateProfile.salary_max, CandidateProfile.salary_min)
                     >= filters.salary_min)
    if filters.salary_max is not None:
        where.append(sa.func.coalesce(CandidateProfile.salary_min, CandidateProfile.salary_max)
                     <= filters.salary_max)
    if filters.remote_only:
        where.append(CandidateProfile.remote_preference.is_(True))
    return where


def search(session: Session, *, actor: Principal, filters: CandidateFilters, limit: int,
           offset: int) -> tuple[list[Hit], int]:
    del actor  # the policy table already limits this to companies, recruiters and admins
    where = conditions(filters)
    base = sa.select(User, CandidateProfile).join(CandidateProfile,
                                                   CandidateProfile.user_id == User.id)
    total = session.scalar(sa.select(sa.func.count()).select_from(User)
                           .join(CandidateProfile, CandidateProfile.user_id == User.id)
                           .where(*where))
    rows = session.execute(base.where(*where).order_by(CandidateProfile.updated_at.desc(),
                                                       User.id.desc())
                           .limit(limit).offset(offset)).all()
    counts = dict(session.execute(
        sa.select(Experience.user_id, sa.func.count()).where(
            Experience.user_id.in_([row[0].id for row in rows])).group_by(Experience.user_id)).all())
    return [Hit(row[0], row[1], int(counts.get(row[0].id, 0))) for row in rows], int(total or 0)


def get_candidate(session: Session, *, actor: Principal, candidate_id: int
                  ) -> users_service.Profile:
    """Employers see public candidates; a candidate sees only themself."""
    if actor.role == CANDIDATE and actor.user_id != candidate_id:
        raise PermissionDenied("Candidates see only their own profile", reason="NOT_YOURS")
    profile = users_service.public_profile(session, user_id=candidate_id)
    if profile.user.user_type != CANDIDATE or (
            profile.candidate_profile is None and actor.user_id != candidate_id):
        raise NotFound(f"Candidate {candidate_id} not found", reason="CANDIDATE_NOT_FOUND")
    if actor.user_id == candidate_id or actor.role in (COMPANY, RECRUITER, ADMIN):
        return profile
    raise NotFound(f"Candidate {candidate_id} not found", reason="CANDIDATE_NOT_FOUND")


def stats(session: Session) -> tuple[int, dict[str, int], dict[str, int]]:
    where = conditions(CandidateFilters())
    join = sa.select(sa.func.count()).select_from(User).join(
        CandidateProfile, CandidateProfile.user_id == User.id)
    total = session.scalar(join.where(*where))

    def grouped(column: Any) -> dict[str, int]:
        rows = session.execute(sa.select(column, sa.func.count()).select_from(User).join(
            CandidateProfile, CandidateProfile.user_id == User.id).where(*where, column.is_not(None))
            .group_by(column))
        return {str(value): int(count) for value, count in rows}

    return (int(total or 0), grouped(CandidateProfile.experience_level),
            grouped(CandidateProfile.availability))
