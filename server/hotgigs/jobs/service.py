"""Job postings: create (draft), update, publish, pause, close; detail; statistics.
Plain Python on a SQLAlchemy session; never commits.

Validation rules (original API): title 3-200 characters, description 50-5000, requirements
10-3000, salary_min <= salary_max (both >= 0), skills_required at most 20, benefits at most
15, employment_type / experience_level / currency from their vocabularies, a deadline in the
future. Life cycle: draft -> active <-> paused -> closed (closed is final).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import TableClause
from sqlalchemy.orm import Session

from hotgigs.analytics import service as read_model
from hotgigs.companies import service as companies_service
from hotgigs.context import Principal
from hotgigs.core import inputs, limits
from hotgigs.db import Reader
from hotgigs.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from hotgigs.jobs import queries
from hotgigs.models import CURRENCIES, EMPLOYMENT_TYPES, EXPERIENCE_LEVELS, JOB_STATUSES, Job
from hotgigs.notifications import service as notifications
from hotgigs.validation import Validator

if TYPE_CHECKING:  # the company entity, as the companies module hands it over
    from hotgigs.models import Company

log = structlog.get_logger(__name__)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("active", "closed"),
    "active": ("paused", "closed"),
    "paused": ("active", "closed"),
    "expired": ("active", "closed"),
    "closed": (),
}
_CLEARABLE = ("requirements", "location", "salary_min", "salary_max", "application_deadline",
              "skills_required", "benefits")


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobFields:
    """The fields a job's poster writes; None: not given (left unset, or unchanged)."""

    title: str | None = None
    description: str | None = None
    requirements: str | None = None
    location: str | None = None
    employment_type: str | None = None
    experience_level: str | None = None
    salary_min: int | None = None
    salary_max: int | None = None
    currency: str | None = None
    skills_required: Sequence[str] | None = None
    benefits: Sequence[str] | None = None
    remote_work_allowed: bool | None = None
    application_deadline: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobIn(JobFields):
    """A new job (a draft) of company `company_id`: title, description, employment type and
    experience level required; an empty currency means USD."""

    company_id: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobUpdateIn(JobFields):
    """Changes to a job: the fields given, a new `status` (a transition), and the fields to
    reset to empty (`clear`, from _CLEARABLE)."""

    status: str | None = None
    clear: Sequence[str] = ()


@dataclasses.dataclass(frozen=True)
class JobDetail:
    row: Any  # jobs.queries.job_row: the job's columns and its company's summary (company_*)
    application_count: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _validated(check: Validator, values: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    texts = {"title": (3, limits.TITLE, False), "description": (50, limits.LONG_TEXT, True),
             "requirements": (10, limits.REQUIREMENTS, True), "location": (0, limits.LOCATION, False)}
    for field, (low, high, multiline) in texts.items():
        required = creating and field in ("title", "description")
        if field in values or required:
            value = check.text(field, values.get(field), max_length=high, min_length=low,
                               required=required, multiline=multiline)
            out[field] = value or None if field in ("requirements", "location") else value
    for field, vocabulary in (("employment_type", EMPLOYMENT_TYPES),
                              ("experience_level", EXPERIENCE_LEVELS)):
        if field in values or creating:
            out[field] = check.choice(field, values.get(field), vocabulary, required=True)
    if "currency" in values:
        out["currency"] = check.choice("currency", values["currency"] or "USD", CURRENCIES)
    for field in ("salary_min", "salary_max"):
        if field in values:
            out[field] = check.number(field, values[field], minimum=0, maximum=100_000_000)
    if "skills_required" in values:
        out["skills_required"] = [s.lower() for s in check.text_list(
            "skills_required", values["skills_required"], max_items=limits.TAGS_MAX, max_length=limits.TAG)]
    if "benefits" in values:
        out["benefits"] = check.text_list("benefits", values["benefits"], max_items=15,
                                          max_length=limits.TITLE)
    if "remote_work_allowed" in values:
        out["remote_work_allowed"] = bool(values["remote_work_allowed"])
    if values.get("application_deadline") is not None:
        deadline = values["application_deadline"]
        if deadline <= _now():
            check.fail("application_deadline", "must be in the future")
        out["application_deadline"] = deadline
    return out


def _check_salary(check: Validator, job: Job) -> None:
    if job.salary_min is not None and job.salary_max is not None and job.salary_min > job.salary_max:
        check.fail("salary_min", "must not exceed salary_max")


def get_job_or_raise(session: Session, *, job_id: int, lock: bool = False) -> Job:
    job = session.get(Job, job_id, with_for_update=lock)
    if job is None:
        raise NotFound(f"Job {job_id} not found", reason="JOB_NOT_FOUND")
    return job


def _is_member(reader: Reader, actor: Principal | None, company_id: int) -> bool:
    if actor is None:
        return False
    if actor.role == "admin":
        return True
    return companies_service.is_member(reader, company_id=company_id, user_id=actor.user_id)


def create(session: Session, *, actor: Principal, job_in: JobIn) -> Job:
    """A draft job of one of the caller's companies."""
    company_id = job_in.company_id
    if not company_id:
        raise InvalidArgument("company_id is required",
                              [FieldViolation("company_id", "is required")])
    companies_service.require_member(session, actor=actor, company_id=company_id)
    check = Validator()
    values = _validated(check, {"currency": "", **inputs.given(job_in)}, creating=True)
    job = Job(company_id=company_id, posted_by=actor.user_id, status="draft", **values)
    _check_salary(check, job)
    check.check("Job data is invalid")
    session.add(job)
    session.flush()
    log.info("job_created", job_id=job.id, company_id=company_id)
    return _fresh(session, job)


def _fresh(session: Session, job: Job) -> Job:
    """The job with its database-set columns (timestamps) loaded, for the answer."""
    session.flush()
    session.refresh(job)
    return job


def _set_status(session: Session, job: Job, status: str) -> None:
    """The one way a job's status changes (PUT with a status, publish/pause, DELETE): checks the
    transition and, when the job closes, notifies its applicants in the same transaction."""
    previous = job.status
    if status == previous:
        return
    if status not in TRANSITIONS.get(previous, ()):
        raise FailedPrecondition(f"A {previous} job cannot become {status}",
                                 reason="BAD_STATUS_TRANSITION")
    job.status = status
    if status == "active" and job.published_at is None:
        job.published_at = _now()
    session.flush()
    if status == "closed":
        _notify_applicants_of_closing(session, job)
    log.info("job_status_changed", job_id=job.id, status=status, previous=previous)


def _notify_applicants_of_closing(session: Session, job: Job) -> None:
    """Applicants still in the pipeline hear that the job closed (from the platform: no
    company user's id goes to candidates)."""
    applicants = read_model.applicants_in_pipeline(session, job_id=job.id)
    notifications.notify(session, user_ids=applicants, notification_type="job_alert",
                         title=f"{job.title} is closed",
                         message=f"The job {job.title} you applied to has been closed.",
                         action_url=f"/api/jobs/{job.id}", sender_id=None)


def update(session: Session, *, actor: Principal, job_id: int, update_in: JobUpdateIn) -> Job:
    """Change the fields given, clear those named, then move to `status` when given."""
    changes, clear = inputs.given(update_in), update_in.clear
    job = get_job_or_raise(session, job_id=job_id, lock=True)
    companies_service.require_member(session, actor=actor, company_id=job.company_id)
    unknown = sorted(set(clear) - set(_CLEARABLE))
    if unknown:
        raise InvalidArgument("Unknown field in clear_fields",
                              [FieldViolation("clear_fields", f"cannot clear {n}") for n in unknown])
    check = Validator()
    values = _validated(check, changes, creating=False)
    status = check.choice("status", update_in.status, JOB_STATUSES) \
        if update_in.status is not None else None
    for field, value in values.items():
        setattr(job, field, value)
    for field in clear:
        setattr(job, field, [] if field in ("skills_required", "benefits") else None)
    _check_salary(check, job)
    check.check("Job data is invalid")
    session.flush()
    if status is not None:
        _set_status(session, job, status)
    return _fresh(session, job)


def change_status(session: Session, *, actor: Principal, job_id: int, status: str) -> Job:
    """Publish (active), pause or close a job of one of the caller's companies."""
    job = get_job_or_raise(session, job_id=job_id, lock=True)
    companies_service.require_member(session, actor=actor, company_id=job.company_id)
    _set_status(session, job, status)
    return _fresh(session, job)


def get(reader: Reader, *, actor: Principal | None, job_id: int) -> JobDetail:
    """An active job for anyone; drafts, paused and closed jobs only for company members.
    A hot read: rows, no entities (the servicer runs it on a read connection)."""
    row = queries.job_row(reader, job_id)
    if row is None or (row.status != "active" and not _is_member(reader, actor, row.company_id)):
        raise NotFound(f"Job {job_id} not found", reason="JOB_NOT_FOUND")
    counts = read_model.application_counts(reader, job_ids=[job_id])
    return JobDetail(row, counts[job_id])


def stats(session: Session, *, actor: Principal | None, company_id: int | None
          ) -> tuple[dict[str, Any], list[tuple[Company, dict[str, Any]]]]:
    """Platform-wide counts of public (active) jobs, plus per-company counts of every status
    for the companies the signed-in caller belongs to (or the one asked for)."""
    public = queries.job_counts(session, [Job.status == "active"])
    public["total_applications"] = read_model.applications_to_jobs(session, job_status="active")
    per_company: list[tuple[Company, dict[str, Any]]] = []
    if actor is not None:
        if company_id is not None:
            companies_service.require_member(session, actor=actor, company_id=company_id)
            companies = [companies_service.get_company_or_raise(session, company_id=company_id)]
        else:
            companies = companies_service.companies_of(session, user_id=actor.user_id)
        for company in companies:
            counts = queries.job_counts(session, [Job.company_id == company.id])
            counts["total_applications"] = read_model.applications_to_jobs(
                session, company_id=company.id)
            per_company.append((company, counts))
    return public, per_company


def job_ids_of_companies(reader: Reader, *, company_ids: Iterable[int]) -> list[int]:
    """Every job (any status) of the companies `company_ids`."""
    return queries.job_ids_of_companies(reader, company_ids)


def company_of(reader: Reader, *, job_id: int) -> int | None:
    """The company of the job (any status), or None when there is no such job (one query,
    for hot reads)."""
    return queries.company_of(reader, job_id)


def summary_table() -> TableClause:
    """Jobs' summary as a selectable to join (built once, in queries.py): `id`, `title`,
    `company_id`, `location`, `employment_type`, `experience_level`, `status`,
    `remote_work_allowed`. For hot reads that must stay one statement (applications' lists)."""
    return queries.SUMMARY


def find_summary(reader: Reader, *, job_id: int) -> Any:
    """The job's summary (the columns of `summary_table()`) and `application_deadline` as a
    row, or None: for writes that check a job and show it (an application), no entity."""
    return queries.summary_row(reader, job_id)


def find_job(session: Session, *, job_id: int) -> Job | None:
    """The job, or None (for callers that answer a missing job their own way)."""
    return session.get(Job, job_id)


def jobs_by_id(session: Session, *, job_ids: Iterable[int]) -> dict[int, Job]:
    """The jobs of `job_ids` that exist, by id (any status)."""
    return queries.jobs_by_id(session, job_ids)


def match_pool(session: Session, *, skills: Sequence[str], words: str, limit: int
               ) -> list[tuple[Job, Company]]:
    """At most `limit` active jobs sharing one of `skills` or matching `words` (a
    websearch query), newest first, with their companies (two queries): the ai module's pool."""
    jobs = queries.match_pool(session, skills=skills, words=words, limit=limit)
    companies = companies_service.companies_by_id(session, company_ids=(j.company_id for j in jobs))
    return [(job, companies[job.company_id]) for job in jobs]
