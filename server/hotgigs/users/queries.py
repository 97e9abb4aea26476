"""Select builders and fetch helpers of the users module; never commit."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import Education, Experience, User


def experiences_of(session: Session, user_id: int) -> list[Experience]:
    """Work history, current and most recent first."""
    return list(session.scalars(
        sa.select(Experience).where(Experience.user_id == user_id)
        .order_by(Experience.is_current.desc(), Experience.start_date.desc(), Experience.id.desc())))


def educations_of(session: Session, user_id: int) -> list[Education]:
    return list(session.scalars(
        sa.select(Education).where(Education.user_id == user_id)
        .order_by(Education.start_date.desc().nulls_last(), Education.id.desc())))


def _like_pattern(term: str) -> str:
    """`term` as a literal inside ILIKE: %, _ and the escape character lose their meaning."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_users(session: Session, *, term: str, user_type: str | None, limit: int,
                 offset: int) -> tuple[list[User], int]:
    """Active users whose first name, last name, full name or e-mail contains `term`
    (case-insensitive); returns one page and the true total."""
    pattern = _like_pattern(term)
    full_name = User.first_name + " " + User.last_name
    condition = sa.and_(
        User.is_active.is_(True),
        sa.or_(full_name.ilike(pattern, escape="\\"), User.email.ilike(pattern, escape="\\")),
    )
    if user_type is not None:
        condition = sa.and_(condition, User.user_type == user_type)
    total = session.scalar(sa.select(sa.func.count()).select_from(User).where(condition)) or 0
    rows = session.scalars(sa.select(User).where(condition)
                           .order_by(User.last_name, User.first_name, User.id)
                           .limit(limit).offset(offset))
    return list(rows), int(total)
