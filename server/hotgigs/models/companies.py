"""Companies and who belongs to them (companies module)."""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotgigs.models.base import (
    Base,
    check_in,
    created_at_column,
    id_column,
    updated_at_column,
)

#: `company_members.role`. The creator of a company becomes its `admin`.
COMPANY_MEMBER_ROLES: Final = ("admin", "recruiter", "member")


class Company(Base):
    """An employer. `slug` is its unique URL-safe name."""

    __tablename__ = "companies"
    __table_args__ = (
        UniqueConstraint("slug"),
        # The seed's indexes, names and columns unchanged.
        Index("idx_companies_industry", "industry"),
        Index("idx_companies_size", "company_size"),
        Index(None, "created_by"),
        CheckConstraint("founded_year BETWEEN 1800 AND 2100", name="founded_year_range"),
    )

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(220))
    description: Mapped[str | None]
    industry: Mapped[str | None] = mapped_column(String(100))
    company_size: Mapped[str | None] = mapped_column(String(50))
    website: Mapped[str | None] = mapped_column(String(500))
    location: Mapped[str | None] = mapped_column(String(200))
    founded_year: Mapped[int | None]
    logo_url: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()

    # passive_deletes: deleting a company leaves its members to ON DELETE CASCADE
    # (and never tries to load the raise-on-access collection).
    members: Mapped[list[CompanyMember]] = relationship(
        back_populates="company", lazy="raise", passive_deletes=True
    )


class CompanyMember(Base):
    """Membership of a user in a company, with a role."""

    __tablename__ = "company_members"
    __table_args__ = (
        UniqueConstraint("company_id", "user_id"),
        check_in("role", COMPANY_MEMBER_ROLES),
        Index(None, "user_id"),
    )

    id: Mapped[int] = id_column()
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20), server_default=text("'member'"))
    created_at: Mapped[dt.datetime] = created_at_column()

    company: Mapped[Company] = relationship(back_populates="members", lazy="raise")


class CompanyInvitation(Base):
    """A pending invitation to join a company, made by one of its admins. The invited user
    becomes a member only by accepting it. Addressed by e-mail (whether or not an account has
    it: the company learns nothing about the address) or by user id."""

    __tablename__ = "company_invitations"
    __table_args__ = (
        UniqueConstraint("company_id", "email"),
        UniqueConstraint("company_id", "user_id"),
        CheckConstraint("(email IS NULL) <> (user_id IS NULL)", name="email_or_user"),
        check_in("role", COMPANY_MEMBER_ROLES),
        Index(None, "email"),
        Index(None, "user_id"),
        Index(None, "invited_by"),
    )

    id: Mapped[int] = id_column()
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    email: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at_column()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


__all__ = ["COMPANY_MEMBER_ROLES", "Company", "CompanyInvitation", "CompanyMember"]
