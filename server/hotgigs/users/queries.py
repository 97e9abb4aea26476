"""Select builders and fetch helpers of the users module; never commit.

Every user-supplied value reaches SQL as a bound parameter; LIKE patterns are escaped first.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hotgigs.models import CandidateProfile, Education, Experience, User

LIKE_ESCAPE = "\\"


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
