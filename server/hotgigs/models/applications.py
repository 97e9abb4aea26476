"""Job applications and their status history (applications module).

One status pipeline everywhere: applied -> screening -> interviewing -> offered -> hired, plus
rejected (with a reason) and withdrawn. The original's other spellings are input aliases,
translated before anything reaches the database.

`job_applications.version` is the mapper's `version_id_col`: every ORM UPDATE of an
application says `WHERE id = :id AND version = :loaded_version` and bumps it, so two
concurrent edits cannot both win (the loser gets `sqlalchemy.orm.exc.StaleDataError`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotgigs.models.base import (
    Base,
    check_in,
    created_at_column,
    id_column,
    updated_at_column,
)
from hotgigs.models.sealed import sealed_integer, sealed_text

if TYPE_CHECKING:
    from hotgigs.models.jobs import Job

#: `job_applications.status`, in pipeline order, then the two exits.
APPLICATION_STATUSES: Final = (
    "applied",
    "screening",
    "interviewing",
    "offered",
    "hired",
    "rejected",
    "withdrawn",
)


class JobApplication(Base):
    """A candidate's application to a job (one per job and candidate)."""

    __tablename__ = "job_applications"
    __table_args__ = (
        # Also serves look-ups by job_id (its leading column).
        UniqueConstraint("job_id", "candidate_id"),
        check_in("status", APPLICATION_STATUSES),
        # The seed's indexes, names and columns unchanged.
        Index("idx_applications_status", "status", "applied_at"),
        Index("idx_applications_candidate", "candidate_id", "job_id"),
        Index(None, "resume_document_id"),
    )

    id: Mapped[int] = id_column()
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), server_default=text("'applied'"))
    cover_letter: Mapped[str | None] = mapped_column(sealed_text(__tablename__, "cover_letter"))
    resume_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    resume_url: Mapped[str | None] = mapped_column(String(2048))
    # sealed: no CHECK on it (the service refuses a negative salary)
    expected_salary: Mapped[int | None] = mapped_column(
        sealed_integer(__tablename__, "expected_salary"))
    availability_date: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(sealed_text(__tablename__, "notes"))
    interview_at: Mapped[dt.datetime | None]
    interview_type: Mapped[str | None] = mapped_column(String(50))
    interview_location: Mapped[str | None] = mapped_column(String(500))
    interview_notes: Mapped[str | None] = mapped_column(sealed_text(__tablename__, "interview_notes"))
    rejection_reason: Mapped[str | None] = mapped_column(
        sealed_text(__tablename__, "rejection_reason"))
    version: Mapped[int] = mapped_column(server_default=text("1"))
    applied_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()

    job: Mapped[Job] = relationship(lazy="raise")
    status_history: Mapped[list[ApplicationStatusHistory]] = relationship(
        back_populates="application",
        lazy="raise",
        passive_deletes=True,
        # Insertion order: changed_at is the transaction start, so a change that waited for
        # the row lock can carry an earlier time than the change it followed.
        order_by="ApplicationStatusHistory.id",
    )

    # eager_defaults: server-generated columns (applied_at, updated_at, status, version) come
    # back in the INSERT/UPDATE's RETURNING, so nothing needs a refresh round trip.
    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}  # noqa: RUF012 - read by SQLAlchemy as is


class ApplicationStatusHistory(Base):
    """One status change of an application: who, when, from what, to what, why."""

    __tablename__ = "application_status_history"
    __table_args__ = (
        check_in("from_status", APPLICATION_STATUSES),  # NULL (the first entry) passes
        check_in("to_status", APPLICATION_STATUSES),
        Index(None, "application_id", "changed_at"),
        Index(None, "changed_by"),
    )

    id: Mapped[int] = id_column()
    application_id: Mapped[int] = mapped_column(
        ForeignKey("job_applications.id", ondelete="CASCADE")
    )
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None]
    changed_at: Mapped[dt.datetime] = created_at_column()

    application: Mapped[JobApplication] = relationship(
        back_populates="status_history", lazy="raise"
    )


__all__ = ["APPLICATION_STATUSES", "ApplicationStatusHistory", "JobApplication"]
