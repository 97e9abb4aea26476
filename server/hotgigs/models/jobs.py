"""Job postings and their full-text search vector (jobs, ai and analytics modules).

`jobs.search_vector` is a stored generated column: title weighs A, skills B, requirements C,
description D, all parsed with the `english` configuration. Query it with
`Job.search_vector.op("@@")(func.websearch_to_tsquery("english", terms))` and rank with
`func.ts_rank_cd(Job.search_vector, query)`; the GIN index `ix_jobs_search_vector` serves both.

A generated column may only call IMMUTABLE functions and `array_to_string` is only STABLE
(its result for arbitrary element types can depend on settings such as DateStyle; for
`text[]` it cannot), so the expression calls `hotgigs_immutable_array_to_string(text[], text)`,
an IMMUTABLE SQL wrapper created by migration 0001 (`SEARCH_TEXT_FUNCTION`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    String,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotgigs.models.base import (
    Base,
    check_in,
    created_at_column,
    id_column,
    updated_at_column,
)

if TYPE_CHECKING:
    from hotgigs.models.companies import Company

#: `jobs.employment_type`.
EMPLOYMENT_TYPES: Final = ("full-time", "part-time", "contract", "freelance", "internship")
#: `jobs.experience_level` and `candidate_profiles.experience_level`.
EXPERIENCE_LEVELS: Final = ("entry", "mid", "senior", "executive")
#: `jobs.status`. Only `active` jobs are public.
JOB_STATUSES: Final = ("draft", "active", "paused", "closed", "expired")
#: `jobs.currency`.
CURRENCIES: Final = ("USD", "EUR", "GBP", "CAD", "AUD")

#: Name of the IMMUTABLE wrapper of `array_to_string` (created by migration 0001).
SEARCH_TEXT_FUNCTION: Final = "hotgigs_immutable_array_to_string"
#: Text search configuration of `jobs.search_vector` (queries must use the same one).
SEARCH_CONFIG: Final = "english"
#: The generated expression of `jobs.search_vector`, exactly as migration 0001 creates it.
SEARCH_VECTOR_SQL: Final = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A')"
    " || setweight(to_tsvector('english',"
    f" coalesce({SEARCH_TEXT_FUNCTION}(skills_required, ' '), '')), 'B')"
    " || setweight(to_tsvector('english', coalesce(requirements, '')), 'C')"
    " || setweight(to_tsvector('english', coalesce(description, '')), 'D')"
)


class Job(Base):
    """A job posting of a company. Starts as a draft; `active` ones are public and searchable."""

    __tablename__ = "jobs"
    __table_args__ = (
        check_in("employment_type", EMPLOYMENT_TYPES),
        check_in("experience_level", EXPERIENCE_LEVELS),
        check_in("status", JOB_STATUSES),
        check_in("currency", CURRENCIES),
        CheckConstraint("salary_min >= 0", name="salary_min_non_negative"),
        CheckConstraint("salary_max >= 0", name="salary_max_non_negative"),
        CheckConstraint("salary_min <= salary_max", name="salary_range"),
        # The seed's indexes, names and columns unchanged.
        Index("idx_jobs_search", "status", "location", "experience_level"),
        Index("idx_jobs_salary", "salary_min", "salary_max"),
        # Foreign keys and listing order.
        Index(None, "company_id"),
        Index(None, "posted_by"),
        Index(None, "status", "created_at"),
        # Search.
        Index("ix_jobs_search_vector", "search_vector", postgresql_using="gin"),
        Index(None, "skills_required", postgresql_using="gin"),
    )

    id: Mapped[int] = id_column()
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    posted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str]
    requirements: Mapped[str | None]
    location: Mapped[str | None] = mapped_column(String(200))
    employment_type: Mapped[str] = mapped_column(String(20))
    experience_level: Mapped[str] = mapped_column(String(20))
    salary_min: Mapped[int | None]
    salary_max: Mapped[int | None]
    currency: Mapped[str] = mapped_column(String(3), server_default=text("'USD'"))
    skills_required: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    benefits: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    remote_work_allowed: Mapped[bool] = mapped_column(Boolean, server_default=false())
    status: Mapped[str] = mapped_column(String(20), server_default=text("'draft'"))
    application_deadline: Mapped[dt.datetime | None]
    published_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()
    # Deferred with raiseload: never loaded with the row, usable in SQL expressions only.
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed(SEARCH_VECTOR_SQL, persisted=True),
        deferred=True,
        deferred_raiseload=True,
    )

    company: Mapped[Company] = relationship(lazy="raise")


Index(
    "ix_jobs_location_trgm",
    func.lower(Job.location).label("location_lower"),
    postgresql_using="gin",
    postgresql_ops={"location_lower": "gin_trgm_ops"},
)
# Public search reads active jobs only: partial twins of the two search indexes (migration 0008).
Index(
    "ix_jobs_active_search_vector",
    Job.search_vector,
    postgresql_using="gin",
    postgresql_where=Job.status == "active",
)
Index(
    "ix_jobs_active_location_trgm",
    func.lower(Job.location).label("location_lower"),
    postgresql_using="gin",
    postgresql_ops={"location_lower": "gin_trgm_ops"},
    postgresql_where=Job.status == "active",
)
# ... and in its sort orders, so a page can stop after its rows (migration 0012).
Index("ix_jobs_active_created_at", Job.created_at, Job.id, postgresql_where=Job.status == "active")
Index(
    "ix_jobs_active_salary",
    func.coalesce(Job.salary_max, Job.salary_min, -1).label("salary_key"),
    Job.id,
    postgresql_where=Job.status == "active",
)

__all__ = [
    "CURRENCIES",
    "EMPLOYMENT_TYPES",
    "EXPERIENCE_LEVELS",
    "JOB_STATUSES",
    "SEARCH_CONFIG",
    "SEARCH_TEXT_FUNCTION",
    "SEARCH_VECTOR_SQL",
    "Job",
]
