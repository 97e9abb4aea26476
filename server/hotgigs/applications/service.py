"""Applications and their ONE status pipeline. Plain Python on a SQLAlchemy session.

    applied -> screening -> interviewing -> offered -> hired
       any of the first four -> rejected (with a reason)      (company members)
       any of the first four -> withdrawn                      (the candidate)
hired, rejected and withdrawn are final. The original API's status names are accepted as
input aliases (pending, reviewed, interview, accepted, ...). Every change is written to
`application_status_history` in the same transaction, under a row lock, so two concurrent
updates are applied one after the other and no transition is lost.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotgigs.analytics import service as read_model
from hotgigs.applications import queries
from hotgigs.companies import service as companies_service
from hotgigs.context import Principal
from hotgigs.core import inputs, limits, pagination
from hotgigs.core.rpc import ADMIN, CANDIDATE
from hotgigs.db import Reader
from hotgigs.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from hotgigs.jobs import service as jobs_service
from hotgigs.models import APPLICATION_STATUSES, ApplicationStatusHistory, JobApplication
from hotgigs.notifications import service as notifications
from hotgigs.users import service as users_service
from hotgigs.validation import Validator

if TYPE_CHECKING:  # other modules' entities, as their services hand them over
    from hotgigs.models import Job, User

log = structlog.get_logger(__name__)

STATUS_ALIASES = {
    "pending": "applied", "submitted": "applied", "new": "applied",
    "reviewed": "screening", "reviewing": "screening", "under_review": "screening",
    "interview": "interviewing", "interview_scheduled": "interviewing",
    "interviewed": "interviewing", "offer": "offered", "offer_extended": "offered",
    "accepted": "hired", "declined": "rejected", "withdraw": "withdrawn",
}
COMPANY_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "applied": ("screening", "interviewing", "rejected"),
    "screening": ("interviewing", "offered", "rejected"),
    "interviewing": ("offered", "rejected"),
    "offered": ("hired", "rejected"),
}
WITHDRAWABLE = ("applied", "screening", "interviewing", "offered")


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of a list (a hot read): rows of queries.list_page (the application's columns,
    `job_*`, `candidate_*`), each one's status history (rows), and the viewer's companies
    (an application to one of their jobs is seen as its company sees it)."""

    items: Sequence[Any]
    total: int
    page: int
    limit: int
    history: Mapping[int, Sequence[Any]] = dataclasses.field(default_factory=dict)
    viewer_companies: frozenset[int] = frozenset()

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.limit) if self.total else 0


def normalise_status(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    return STATUS_ALIASES.get(lowered, lowered)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _record(session: Session, application: JobApplication, *, to_status: str, actor: Principal,
            reason: str | None, from_status: str | None) -> None:
    session.add(ApplicationStatusHistory(application_id=application.id, from_status=from_status,
                                         to_status=to_status, changed_by=actor.user_id,
                                         reason=reason))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApplicationIn:
    """A candidate's application to one job."""

    job_id: int = 0
    cover_letter: str | None = None
    resume_url: str | None = None
    expected_salary: int | None = None
    availability_date: str | None = None
    resume_document_id: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ApplicationUpdateIn:
    """The company side's changes to an application; None: not given (left unchanged).
    `clear` names the fields to empty (notes, interview_notes, interview_type, interview_date)."""

    status: str | None = None
    status_reason: str | None = None
    rejection_reason: str | None = None
    notes: str | None = None
    interview_notes: str | None = None
    interview_type: str | None = None
    interview_date: dt.datetime | None = None
    clear: Sequence[str] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class ListIn:
    """A page of applications (page from 1), of one status when `status` is given."""

    page: int | None = None
    limit: int | None = None
    status: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobListIn(ListIn):
    """A page of one job's applications, sorted by applied_at, updated_at or status."""

    sort_by: str = "applied_at"
    order: str = "desc"


def apply(session: Session, *, actor: Principal, application_in: ApplicationIn) -> View:
    """Submit the candidate's application: the application, its first history entry, the
    company members' notifications and their mail in the caller's transaction. The answer
    (`View`) is built from what the transaction holds: no read-back of what it wrote."""
    if actor.role != CANDIDATE:
        raise PermissionDenied("Only candidates apply to jobs", reason="CANDIDATES_ONLY")
    check = Validator()
    job_id = application_in.job_id
    if not job_id:
        check.fail("job_id", "is required")
    cover_letter = check.text("cover_letter", application_in.cover_letter,
                              max_length=limits.LONG_TEXT, multiline=True) or None
    resume_url = check.url("resume_url", application_in.resume_url,
                           max_length=limits.LONG_URL) or None
    expected_salary = check.number("expected_salary", application_in.expected_salary,
                                   minimum=0, maximum=100_000_000)
    availability = check.date("availability_date", application_in.availability_date)
    document_id = application_in.resume_document_id
    if document_id is not None and read_model.document_owner(session, document_id=document_id) \
            != actor.user_id:
        check.fail("resume_document_id", "must be one of your own documents")
    check.check("Application data is invalid")
    # Every statement below is Core: run them on the session's connection (the same
    # transaction, without the ORM's execute path); the session holds nothing pending.
    connection = session.connection()
    job = jobs_service.find_summary(connection, job_id=job_id)
    if job is None or job.status != "active":
        raise FailedPrecondition("This job is not open for applications", reason="JOB_NOT_OPEN")
    if job.application_deadline is not None and job.application_deadline <= _now():
        raise FailedPrecondition("The application deadline has passed", reason="DEADLINE_PASSED")
    try:  # no savepoint: a duplicate ends the whole transaction anyway (it is rolled back)
        application, first = queries.submit(connection, {
            "job_id": job.id, "candidate_id": actor.user_id, "cover_letter": cover_letter,
            "resume_url": resume_url, "resume_document_id": document_id,
            "expected_salary": expected_salary,
            "availability_date": dt.date.fromisoformat(availability) if availability else None})
    except IntegrityError as error:
        if isinstance(error.orig, psycopg.errors.ForeignKeyViolation):
            # the job, the document or the account went away while we looked
            raise InvalidArgument("The job, document or account this application refers to "
                                  "no longer exists", reason="REFERENCE_GONE") from None
        raise AlreadyExists("You have already applied to this job",
                            reason="ALREADY_APPLIED") from None
    members = companies_service.member_ids(connection, company_id=job.company_id)
    people = users_service.contacts_by_id(connection, user_ids=[*members, actor.user_id])
    notifications.notify(session, user_ids=members, notification_type="application_update",
                         title=f"New application for {job.title}",
                         message=f"A candidate applied to {job.title}.",
                         action_url=f"/api/applications/{application.id}",
                         sender_id=actor.user_id, contacts=people)
    candidate = people.get(actor.user_id)
    log.info("application_created", application_id=application.id, job_id=job.id)
    return View(application, job, candidate, [first], actor.user_id in members)


def _can_manage(session: Session, actor: Principal, job: Job) -> bool:
    if actor.role == ADMIN:
        return True
    return companies_service.membership(session, company_id=job.company_id,
                                        user_id=actor.user_id) is not None


def get(session: Session, *, actor: Principal, application_id: int,
        lock: bool = False) -> tuple[JobApplication, Job]:
    """The candidate, members of the job's company and admins may see it; others get 404."""
    application = session.get(JobApplication, application_id, with_for_update=lock)
    if application is None:
        raise NotFound(f"Application {application_id} not found", reason="APPLICATION_NOT_FOUND")
    job = jobs_service.get_job_or_raise(session, job_id=application.job_id)
    if application.candidate_id != actor.user_id and not _can_manage(session, actor, job):
        raise NotFound(f"Application {application_id} not found", reason="APPLICATION_NOT_FOUND")
    return application, job


def update(session: Session, *, actor: Principal, application_id: int,
           update_in: ApplicationUpdateIn) -> JobApplication:
    """Company side: move the status along the pipeline, notes and interview details."""
    changes = inputs.given(update_in)
    clear = update_in.clear
    application, job = get(session, actor=actor, application_id=application_id, lock=True)
    if not _can_manage(session, actor, job):
        raise PermissionDenied("Only the hiring company updates an application",
                               reason="NOT_A_MEMBER")
    check = Validator()
    status = normalise_status(changes.get("status"))
    if status is not None and status not in APPLICATION_STATUSES:
        check.fail("status", f"must be one of: {', '.join(APPLICATION_STATUSES)}")
    reason = check.text("status_reason", changes.get("status_reason"), max_length=limits.REASON) or None
    rejection = check.text("rejection_reason", changes.get("rejection_reason"),
                           max_length=limits.REASON) or None
    for field in ("notes", "interview_notes"):
        if field in changes:
            setattr(application, field,
                    check.text(field, changes[field], max_length=limits.LONG_TEXT, multiline=True) or None)
    if "interview_type" in changes:
        application.interview_type = check.text("interview_type", changes["interview_type"],
                                                max_length=limits.INTERVIEW_TYPE) or None
    if changes.get("interview_date") is not None:
        application.interview_at = changes["interview_date"]
    for field in clear:
        if field not in ("notes", "interview_notes", "interview_type", "interview_date"):
            check.fail("clear_fields", f"cannot clear {field}")
        else:
            setattr(application, "interview_at" if field == "interview_date" else field, None)
    if status == "rejected" and not (rejection or reason or application.rejection_reason):
        check.fail("rejection_reason", "is required when rejecting")
    check.check("Application update is invalid")
    if rejection is not None:
        application.rejection_reason = rejection
    if status is not None and status != application.status:
        allowed = COMPANY_TRANSITIONS.get(application.status, ())
        if status not in allowed:
            raise FailedPrecondition(
                f"An application that is {application.status} cannot become {status}"
                + (f"; next: {', '.join(allowed)}" if allowed else ""),
                reason="BAD_STATUS_TRANSITION")
        _record(session, application, to_status=status, actor=actor,
                reason=reason or (rejection if status == "rejected" else None),
                from_status=application.status)
        application.status = status
        notifications.notify(session, user_ids=[application.candidate_id],
                             notification_type="application_update",
                             title=f"Your application for {job.title}: {status}",
                             message=f"Your application for {job.title} is now {status}.",
                             action_url=f"/api/applications/{application.id}")
        # no sender_id: a candidate is not told which staff member moved the application
        log.info("application_status_changed", application_id=application.id, status=status)
    session.flush()
    return application


def withdraw(session: Session, *, actor: Principal, application_id: int,
             reason: str | None) -> JobApplication:
    application, _ = get(session, actor=actor, application_id=application_id, lock=True)
    if application.candidate_id != actor.user_id:
        raise PermissionDenied("Only the candidate withdraws an application",
                               reason="NOT_THE_CANDIDATE")
    if application.status not in WITHDRAWABLE:
        raise FailedPrecondition(f"An application that is {application.status} cannot be "
                                 "withdrawn", reason="NOT_WITHDRAWABLE")
    check = Validator()
    text = check.text("reason", reason, max_length=limits.REASON) or None
    check.check("Withdrawal is invalid")
    _record(session, application, to_status="withdrawn", actor=actor, reason=text,
            from_status=application.status)
    application.status = "withdrawn"
    session.flush()
    return application


def _paging(page: int | None, limit: int | None) -> tuple[int, int]:
    check = Validator()
    number = pagination.page(check, page)
    size = pagination.limit(check, limit)
    check.check("Paging parameters are invalid")
    return number, size


def _status_filter(value: str | None) -> str | None:
    status = normalise_status(value)
    if status is not None and status not in APPLICATION_STATUSES:
        raise InvalidArgument("Unknown status", [FieldViolation(
            "status", f"must be one of: {', '.join(APPLICATION_STATUSES)}")])
    return status


def _visible(session: Session, actor: Principal) -> Any:
    """Applications the caller may list: their own, or those to their companies' jobs."""
    if actor.role == CANDIDATE:
        return queries.visible(candidate_id=actor.user_id)
    if actor.role == ADMIN:
        return queries.visible()
    return queries.visible(job_ids=_viewer_job_ids(session, actor.user_id))


def _page(reader: Reader, shape: queries.ListShape, values: dict[str, Any],
          paging: tuple[int, int], companies: Iterable[int]) -> Page:
    """Page `paging` (number, size) of `shape` with its histories and the viewer's companies."""
    number, size = paging
    rows, total = queries.list_page(reader, shape, values, offset=(number - 1) * size, limit=size)
    return Page(rows, total, number, size, queries.history_of(reader, [row.id for row in rows]),
                frozenset(companies))


def list_applications(reader: Reader, *, actor: Principal, list_in: ListIn) -> Page:
    """The applications the caller may see (their own, their companies', or all for admins),
    newest first. A hot read: rows, on a read connection."""
    paging = _paging(list_in.page, list_in.limit)
    wanted = _status_filter(list_in.status)
    values: dict[str, Any] = {"status": wanted}
    companies = companies_service.company_ids_of(reader, user_id=actor.user_id)
    if actor.role == CANDIDATE:
        scope, values["candidate_id"] = "candidate", actor.user_id
    elif actor.role == ADMIN:
        scope = "all"
    else:
        scope = "jobs"
        values["job_ids"] = jobs_service.job_ids_of_companies(reader, company_ids=companies)
    shape = queries.ListShape.of(scope, status=wanted is not None)
    return _page(reader, shape, values, paging, companies)


def list_for_job(reader: Reader, *, actor: Principal, job_id: int, list_in: JobListIn
                 ) -> tuple[Page, dict[str, int]]:
    """One page of a job's applications for its company, and the count of every status.
    A hot read: rows, on a read connection."""
    company_id = jobs_service.company_of(reader, job_id=job_id)
    if company_id is None:
        raise NotFound(f"Job {job_id} not found", reason="JOB_NOT_FOUND")
    if actor.role != ADMIN and not companies_service.is_member(reader, company_id=company_id,
                                                               user_id=actor.user_id):
        raise PermissionDenied("Only the hiring company sees a job's applications",
                               reason="NOT_A_MEMBER")
    paging = _paging(list_in.page, list_in.limit)
    wanted = _status_filter(list_in.status)
    shape = queries.ListShape.of("job", status=wanted is not None, sort_by=list_in.sort_by,
                                 order=list_in.order)
    page = _page(reader, shape, {"job_id": job_id, "status": wanted}, paging,
                 companies_service.company_ids_of(reader, user_id=actor.user_id))
    return page, queries.status_counts_of_job(reader, job_id)


def stats(session: Session, *, actor: Principal) -> dict[str, int]:
    return queries.counts_by_status(session, _visible(session, actor))


def _history(session: Session, application_ids: list[int]) -> dict[int, list[Any]]:
    return queries.history_of(session, application_ids)


@dataclasses.dataclass(frozen=True)
class View:
    """An application with what its answer shows: job, candidate, history, and whether the
    viewer is a member of the hiring company."""

    application: JobApplication | Any  # an entity, or a row of its columns (a new one)
    job: Job | Any | None  # an entity, or a row of jobs_service.find_summary
    candidate: User | Any | None  # an entity, or a row of users_service.contacts_by_id
    history: Sequence[Any]  # rows of the history's columns (or queries.Change), oldest first
    member: bool


def views(session: Session, *, viewer: Principal, applications: list[JobApplication]) -> list[View]:
    """Several applications with their jobs, candidates and histories in four queries."""
    session.flush()  # server defaults of a new or changed row arrive with it (eager_defaults)
    histories = _history(session, [a.id for a in applications])
    jobs = _jobs_of(session, (a.job_id for a in applications))
    people_by_id = _people(session, (a.candidate_id for a in applications))
    mine = set(companies_service.company_ids_of(session, user_id=viewer.user_id))
    return [View(a, jobs.get(a.job_id), people_by_id.get(a.candidate_id), histories[a.id],
                 a.job_id in jobs and jobs[a.job_id].company_id in mine) for a in applications]


def _people(session: Session, user_ids: Iterable[int]) -> dict[int, User]:
    return users_service.users_by_id(session, user_ids=user_ids)


def _jobs_of(session: Session, job_ids: Iterable[int]) -> dict[int, Job]:
    return jobs_service.jobs_by_id(session, job_ids=job_ids)


# ---- the module's API to other modules: what an open application opens to the company --------
def _viewer_job_ids(session: Session, viewer_id: int) -> list[int]:
    company_ids = companies_service.company_ids_of(session, user_id=viewer_id)
    return jobs_service.job_ids_of_companies(session, company_ids=company_ids)


def applicants_of(session: Session, *, viewer_id: int, candidate_ids: Iterable[int]) -> set[int]:
    """The candidates among `candidate_ids` with an open (not withdrawn) application to a job
    of a company `viewer_id` is a member of: that company sees their e-mail."""
    wanted = set(candidate_ids)
    job_ids = _viewer_job_ids(session, viewer_id) if wanted else []
    if not job_ids:
        return set()
    return queries.applicants_among(session, job_ids=job_ids, candidate_ids=wanted)


def attached_document_ids(session: Session, *, viewer_id: int, owner_id: int) -> set[int]:
    """Ids of `owner_id`'s documents attached to their open applications to the viewer's
    companies: the only documents of the candidate the viewer may read."""
    job_ids = _viewer_job_ids(session, viewer_id)
    if not job_ids:
        return set()
    return queries.attached_document_ids(session, job_ids=job_ids, owner_id=owner_id)
