"""SQL statements of the companies module; nothing here commits. The caller's company list is
a hot read (STYLE.md, "Hot reads"): one Core statement built once, rows into messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hotgigs.db import Reader
from hotgigs.models import Company, CompanyInvitation, CompanyMember

#: A company's public summary (what a job card shows: `id`, `name`, `logo_url`, `industry`,
#: `location`, `company_size`) as a Core selectable another module joins into its own
#: statement (jobs' public search and detail: one statement, no second query). A lightweight
#: table of those columns only (their types copied): it renders as `companies`, so the join's
#: SQL and plan are those of a join on the table, and nothing else of it is reachable.
PUBLIC_SUMMARY: sa.TableClause = sa.table(
    Company.__tablename__,
    *(sa.column(column.name, column.type) for column in Company.__table__.c
      if column.name in ("id", "name", "logo_url", "industry", "location", "company_size")))


def membership(session: Session, *, company_id: int, user_id: int) -> CompanyMember | None:
    return session.scalar(sa.select(CompanyMember).where(
        CompanyMember.company_id == company_id, CompanyMember.user_id == user_id))


def is_member(reader: Reader, *, company_id: int, user_id: int) -> bool:
    return reader.scalar(sa.select(sa.literal(True)).where(
        CompanyMember.company_id == company_id, CompanyMember.user_id == user_id)) is not None


_COMPANY_IDS_OF = (sa.select(CompanyMember.company_id)
                   .where(CompanyMember.user_id == sa.bindparam("user_id", type_=sa.Integer))
                   .order_by(CompanyMember.company_id))


def company_ids_of(reader: Reader, user_id: int) -> list[int]:
    return list(reader.scalars(_COMPANY_IDS_OF, {"user_id": user_id}))


def companies_by_id(session: Session, company_ids: list[int]) -> dict[int, Company]:
    if not company_ids:
        return {}
    return {company.id: company for company in
            session.scalars(sa.select(Company).where(Company.id.in_(company_ids)))}


def slugs_like(session: Session, base: str) -> set[str]:
    """Slugs equal to `base` or `base-<anything>` (`base` is our own slugify output)."""
    return set(session.scalars(sa.select(Company.slug).where(
        sa.or_(Company.slug == base, Company.slug.like(f"{base}-%")))))


#: The companies of one member (bound `user_id`), by name: every column of the company.
_MY_COMPANIES = (sa.select(Company.__table__)
                 .join(CompanyMember.__table__, CompanyMember.company_id == Company.id)
                 .where(CompanyMember.user_id == sa.bindparam("user_id", type_=sa.Integer))
                 .order_by(Company.name, Company.id))


def company_rows_of(reader: Reader, user_id: int) -> Sequence[sa.Row[Any]]:
    """The companies `user_id` is a member of, by name, as rows of the company's columns."""
    return reader.execute(_MY_COMPANIES, {"user_id": user_id}).all()


def companies_of(session: Session, user_id: int) -> list[Company]:
    """The member's companies as entities, oldest first."""
    return list(session.scalars(
        sa.select(Company).join(CompanyMember, CompanyMember.company_id == Company.id)
        .where(CompanyMember.user_id == user_id).order_by(Company.id)))


def members_of(session: Session, company_id: int) -> list[CompanyMember]:
    return list(session.scalars(sa.select(CompanyMember)
                                .where(CompanyMember.company_id == company_id)
                                .order_by(CompanyMember.created_at, CompanyMember.id)))


def admin_count(session: Session, company_id: int, admin_role: str) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(CompanyMember).where(
        CompanyMember.company_id == company_id, CompanyMember.role == admin_role)) or 0)


_MEMBER_IDS = sa.select(CompanyMember.user_id).where(
    CompanyMember.company_id == sa.bindparam("company_id", type_=sa.Integer))


def member_ids(reader: Reader, company_id: int) -> list[int]:
    return list(reader.scalars(_MEMBER_IDS, {"company_id": company_id}))


# ---- invitations -----------------------------------------------------------------------------
def _pending() -> sa.ColumnElement[bool]:
    return CompanyInvitation.expires_at > sa.func.now()


def _addressed_to(user_id: int, email: str) -> sa.ColumnElement[bool]:
    return sa.or_(CompanyInvitation.user_id == user_id, CompanyInvitation.email == email)


def store_invitation(session: Session, *, company_id: int, email: str | None, user_id: int | None,
                     role: str, invited_by: int, expires_at: dt.datetime) -> None:
    """Insert an invitation, or renew the one to the same address (role, inviter, expiry)."""
    statement = insert(CompanyInvitation).values(
        company_id=company_id, email=email, user_id=user_id, role=role, invited_by=invited_by,
        expires_at=expires_at)
    renewal = {"role": role, "invited_by": invited_by, "expires_at": expires_at,
               "created_at": sa.func.now()}
    key = ["company_id", "email"] if email is not None else ["company_id", "user_id"]
    session.execute(statement.on_conflict_do_update(index_elements=key, set_=renewal))


def pending_of_company(session: Session, company_id: int) -> list[CompanyInvitation]:
    return list(session.scalars(sa.select(CompanyInvitation).where(
        CompanyInvitation.company_id == company_id, _pending())
        .order_by(CompanyInvitation.created_at.desc(), CompanyInvitation.id.desc())))


def pending_for(session: Session, *, user_id: int, email: str
                ) -> list[tuple[CompanyInvitation, Company]]:
    rows = session.execute(
        sa.select(CompanyInvitation, Company).join(Company,
                                                   Company.id == CompanyInvitation.company_id)
        .where(_addressed_to(user_id, email), _pending())
        .order_by(CompanyInvitation.created_at.desc(), CompanyInvitation.id.desc())).all()
    return [(row[0], row[1]) for row in rows]


def pending_for_update(session: Session, *, company_id: int, user_id: int, email: str
                       ) -> CompanyInvitation | None:
    """The newest pending invitation of the user to the company, locked."""
    return session.scalar(
        sa.select(CompanyInvitation).where(CompanyInvitation.company_id == company_id,
                                           _addressed_to(user_id, email), _pending())
        .order_by(CompanyInvitation.created_at.desc()).limit(1).with_for_update())


def delete_invitations(session: Session, *, company_id: int, user_id: int, email: str) -> None:
    session.execute(sa.delete(CompanyInvitation).where(
        CompanyInvitation.company_id == company_id, _addressed_to(user_id, email)))


def delete_invitations_to(session: Session, *, email: str) -> int:
    result = session.execute(sa.delete(CompanyInvitation).where(CompanyInvitation.email == email))
    return int(getattr(result, "rowcount", 0) or 0)
