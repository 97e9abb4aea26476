"""SQL statements of the companies module; nothing here commits."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import CompanyMember


def membership(session: Session, *, company_id: int, user_id: int) -> CompanyMember | None:
    return session.scalar(sa.select(CompanyMember).where(
        CompanyMember.company_id == company_id, CompanyMember.user_id == user_id))


def company_ids_of(session: Session, user_id: int) -> list[int]:
    return list(session.scalars(sa.select(CompanyMember.company_id)
                                .where(CompanyMember.user_id == user_id)
                                .order_by(CompanyMember.company_id)))
