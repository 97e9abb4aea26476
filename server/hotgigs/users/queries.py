"""Select builders and fetch helpers of the users module; never commit.

Every user-supplied value reaches SQL as a bound parameter; LIKE patterns are escaped first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hotgigs.db import Reader, any_id
from hotgigs.models import CandidateProfile, Education, Experience, User

LIKE_ESCAPE = "\\"


@dataclasses.dataclass(frozen=True)
class CandidateFilter:
    """Validated candidate-search filters (`candidates.service.validate` builds them)."""

    skills: tuple[str, ...] = ()
    location: str | None = None
    experience_level: str | None = None
    availability: str | None = None
    salary_min: int | None = None
    salary_max: int | None = None
    remote_only: bool = False


#: An account's summary (`id`, `first_name`, `last_name`, `user_type`, `profile_image_url`,
#: `email`) as a Core selectable another module joins into its own hot read. Like companies'
#: PUBLIC_SUMMARY: a lightweight table of those columns only that renders as `users`.
SUMMARY: sa.TableClause = sa.table(
    User.__tablename__,
    *(sa.column(column.name, column.type) for column in User.__table__.c
      if column.name in ("id", "first_name", "last_name", "user_type", "profile_image_url",
                         "email")))


_CONTACTS = sa.select(User.id, User.email, User.first_name, User.last_name, User.user_type,
                      User.profile_image_url, User.is_active).where(
    User.id == any_id("user_ids"))


def contacts_by_id(reader: Reader, user_ids: Iterable[int]) -> dict[int, Any]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return {row.id: row for row in reader.execute(_CONTACTS, {"user_ids": ids})}


def users_by_id(session: Session, user_ids: Iterable[int]) -> dict[int, User]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return {user.id: user for user in session.scalars(sa.select(User).where(User.id.in_(ids)))}


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == email))


def experiences_of(session: Session, user_id: int) -> list[Experience]:
    """Work history, current and most recent first."""
    return list(session.scalars(
        sa.select(Experience).where(Experience.user_id == user_id)
        .order_by(Experience.is_current.desc(), Experience.start_date.desc(), Experience.id.desc())))


def educations_of(session: Session, user_id: int) -> list[Education]:
    """Education, most recent first; entries without a start date last."""
    return list(session.scalars(
        sa.select(Education).where(Education.user_id == user_id)
        .order_by(Education.start_date.desc().nulls_last(), Education.id.desc())))


def candidate_profile_for_update(session: Session, user_id: int) -> CandidateProfile:
    """The candidate profile of `user_id`, created when missing, locked for this transaction.

    INSERT ... ON CONFLICT DO NOTHING first, so two first updates racing each other both end
    up on the one row instead of one of them failing on the primary key.
    """
    session.execute(insert(CandidateProfile).values(user_id=user_id)
                    .on_conflict_do_nothing(index_elements=[CandidateProfile.user_id]))
    return session.scalars(sa.select(CandidateProfile).where(CandidateProfile.user_id == user_id)
                           .with_for_update()
                           .execution_options(populate_existing=True)).one()


def escape_like(term: str) -> str:
    """`term` as a literal inside (I)LIKE: %, _ and the escape character lose their meaning."""
    return (term.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%")
            .replace("_", LIKE_ESCAPE + "_"))


def search_users(session: Session, *, term: str, user_type: str | None, limit: int,
                 offset: int) -> tuple[list[User], int]:
    """Active users whose first name, last name or "first last" contains `term`
    (case-insensitive, literal); one page and the true total.

    Names only: never the e-mail, so a search cannot tell whether an address has an account
    or spell addresses out prefix by prefix.
    """
    literal = escape_like(term)
    full_name = User.first_name + " " + User.last_name
    condition = sa.and_(User.is_active.is_(True),
                        full_name.ilike(f"%{literal}%", escape=LIKE_ESCAPE))
    if user_type is not None:
        condition = sa.and_(condition, User.user_type == user_type)
    total = session.scalar(sa.select(sa.func.count()).select_from(User).where(condition)) or 0
    rows = session.scalars(sa.select(User).where(condition)
                           .order_by(User.last_name, User.first_name, User.id)
                           .limit(limit).offset(offset))
    return list(rows), int(total)


# ---- candidate search (read by the candidates module through users.service) -------------------
def candidate_conditions(filters: CandidateFilter) -> list[sa.ColumnElement[bool]]:
    """Active candidates with a public profile, matching every filter given."""
    where: list[sa.ColumnElement[bool]] = [User.is_active.is_(True), User.user_type == "candidate",
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


def search_candidates(session: Session, filters: CandidateFilter, *, limit: int, offset: int
                      ) -> tuple[list[tuple[User, CandidateProfile, int]], int]:
    """One page of matching candidates (most recently updated first) with their number of
    work-history entries, and the true total."""
    where = candidate_conditions(filters)
    total = session.scalar(sa.select(sa.func.count()).select_from(User)
                           .join(CandidateProfile, CandidateProfile.user_id == User.id)
                           .where(*where))
    rows = session.execute(sa.select(User, CandidateProfile)
                           .join(CandidateProfile, CandidateProfile.user_id == User.id)
                           .where(*where)
                           .order_by(CandidateProfile.updated_at.desc(), User.id.desc())
                           .limit(limit).offset(offset)).all()
    counts = dict(session.execute(
        sa.select(Experience.user_id, sa.func.count()).where(
            Experience.user_id.in_([row[0].id for row in rows])).group_by(Experience.user_id)).all())
    return [(row[0], row[1], int(counts.get(row[0].id, 0))) for row in rows], int(total or 0)


def public_candidates(session: Session, filters: CandidateFilter, *, limit: int
                      ) -> list[tuple[User, CandidateProfile]]:
    """At most `limit` candidates matching `filters`, most recently updated first (no total)."""
    rows = session.execute(sa.select(User, CandidateProfile)
                           .join(CandidateProfile, CandidateProfile.user_id == User.id)
                           .where(*candidate_conditions(filters))
                           .order_by(CandidateProfile.updated_at.desc(), User.id.desc())
                           .limit(limit)).all()
    return [(row[0], row[1]) for row in rows]


def candidate_counts(session: Session) -> tuple[int, dict[str, int], dict[str, int]]:
    """Searchable candidates: in total, by experience level, by availability."""
    where = candidate_conditions(CandidateFilter())
    total = session.scalar(sa.select(sa.func.count()).select_from(User).join(
        CandidateProfile, CandidateProfile.user_id == User.id).where(*where))

    def grouped(column: Any) -> dict[str, int]:
        rows = session.execute(sa.select(column, sa.func.count()).select_from(User).join(
            CandidateProfile, CandidateProfile.user_id == User.id).where(*where, column.is_not(None))
            .group_by(column))
        return {str(value): int(count) for value, count in rows}

    return (int(total or 0), grouped(CandidateProfile.experience_level),
            grouped(CandidateProfile.availability))
