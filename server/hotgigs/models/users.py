"""Accounts, their tokens, and candidate profiles (auth, users and candidates modules).

E-mail addresses are stored lower-cased (a CHECK constraint refuses anything else), so the
plain unique constraint `uq_users_email` is a case-insensitive uniqueness rule and the seed's
`idx_users_email` serves `WHERE email = lower(:given)` look-ups.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Final

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotgigs.models.base import (
    Base,
    check_in,
    created_at_column,
    id_column,
    updated_at_column,
)
from hotgigs.models.jobs import CURRENCIES, EXPERIENCE_LEVELS
from hotgigs.models.sealed import sealed_text

#: `users.user_type`. The original code's `freelance_recruiter` is an input alias of `recruiter`.
USER_TYPES: Final = ("candidate", "company", "recruiter", "admin")
#: `one_time_tokens.purpose`.
ONE_TIME_TOKEN_PURPOSES: Final = ("verify_email", "reset_password")
#: `candidate_profiles.availability`.
AVAILABILITIES: Final = ("immediate", "2_weeks", "1_month", "3_months")


class User(Base):
    """An account: candidate, company user, recruiter or operator (admin)."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("email"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        check_in("user_type", USER_TYPES),
        CheckConstraint("failed_login_count >= 0", name="failed_login_count_non_negative"),
        Index("idx_users_email", "email"),
        Index("idx_users_type", "user_type"),
    )

    id: Mapped[int] = id_column()
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str]
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(sealed_text(__tablename__, "phone"))  # 32 chars
    user_type: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    email_verified_at: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    failed_login_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    locked_until: Mapped[dt.datetime | None]
    bio: Mapped[str | None]
    location: Mapped[str | None] = mapped_column(String(200))
    profile_image_url: Mapped[str | None] = mapped_column(String(500))
    linkedin_url: Mapped[str | None] = mapped_column(String(500))
    github_url: Mapped[str | None] = mapped_column(String(500))
    portfolio_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


class RefreshToken(Base):
    """One issued refresh token; rotation links a child to its parent within one family.

    Presenting a token whose `used_at` is already set means the family leaked: revoke every
    token of `family_id`.
    """

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        UniqueConstraint("jti"),
        Index(None, "user_id"),
        Index(None, "family_id"),
        Index(None, "expires_at"),
    )

    id: Mapped[int] = id_column()
    jti: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID]
    parent_jti: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = created_at_column()


class OneTimeToken(Base):
    """A single-use token mailed to a user (verify e-mail, reset password); only its hash is kept."""

    __tablename__ = "one_time_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        check_in("purpose", ONE_TIME_TOKEN_PURPOSES),
        Index(None, "user_id"),
    )

    id: Mapped[int] = id_column()
    token_hash: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = created_at_column()


class UserIdentity(Base):
    """An identity-provider account linked to a user: sign-in with OpenID Connect (or a
    userinfo provider). `subject` is the provider's stable id of the account (`sub`), unique per
    provider; `email` is what the provider said when the link was made (shown, never trusted)."""

    __tablename__ = "user_identities"
    __table_args__ = (
        UniqueConstraint("provider", "subject"),
        Index(None, "user_id"),
    )

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = created_at_column()
    last_used_at: Mapped[dt.datetime | None]


class CandidateProfile(Base):
    """The searchable profile of a candidate (one per user)."""

    __tablename__ = "candidate_profiles"
    __table_args__ = (
        check_in("experience_level", EXPERIENCE_LEVELS),
        check_in("availability", AVAILABILITIES),
        CheckConstraint("years_experience >= 0", name="years_experience_non_negative"),
        CheckConstraint("salary_min >= 0", name="salary_min_non_negative"),
        CheckConstraint("salary_max >= 0", name="salary_max_non_negative"),
        CheckConstraint("salary_min <= salary_max", name="salary_range"),
        check_in("currency", CURRENCIES),
        Index(None, "skills", postgresql_using="gin"),
        Index(None, "experience_level"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    headline: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str | None]
    location: Mapped[str | None] = mapped_column(String(200))
    skills: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    experience_level: Mapped[str | None] = mapped_column(String(20))
    years_experience: Mapped[int | None]
    availability: Mapped[str | None] = mapped_column(String(20))
    salary_min: Mapped[int | None]
    salary_max: Mapped[int | None]
    remote_preference: Mapped[bool] = mapped_column(Boolean, server_default=false())
    is_public: Mapped[bool] = mapped_column(Boolean, server_default=true())
    current_title: Mapped[str | None] = mapped_column(String(200))
    current_company: Mapped[str | None] = mapped_column(String(200))
    willing_to_relocate: Mapped[bool] = mapped_column(Boolean, server_default=false())
    currency: Mapped[str] = mapped_column(String(3), server_default=text("'USD'"))
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


Index(
    "ix_candidate_profiles_location_trgm",
    func.lower(CandidateProfile.location).label("location_lower"),
    postgresql_using="gin",
    postgresql_ops={"location_lower": "gin_trgm_ops"},
)


class Experience(Base):
    """A position in a candidate's work history."""

    __tablename__ = "experiences"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_ordered"),
        Index(None, "user_id"),
    )

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(200))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    is_current: Mapped[bool] = mapped_column(Boolean, server_default=false())
    description: Mapped[str | None]
    achievements: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    skills_used: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


class Education(Base):
    """A degree or course in a candidate's education history."""

    __tablename__ = "educations"
    __table_args__ = (
        CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name="dates_ordered",
        ),
        CheckConstraint("gpa >= 0 AND gpa <= 10", name="gpa_range"),
        Index(None, "user_id"),
    )

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    institution: Mapped[str] = mapped_column(String(200))
    degree: Mapped[str | None] = mapped_column(String(200))
    field_of_study: Mapped[str | None] = mapped_column(String(200))
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    grade: Mapped[str | None] = mapped_column(String(50))
    gpa: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    description: Mapped[str | None]
    achievements: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


__all__ = [
    "AVAILABILITIES",
    "ONE_TIME_TOKEN_PURPOSES",
    "USER_TYPES",
    "CandidateProfile",
    "Education",
    "Experience",
    "OneTimeToken",
    "RefreshToken",
    "User",
    "UserIdentity",
]
