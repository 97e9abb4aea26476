"""The analytics read model: every SQL statement of the module. Analytics is the one module
that reads other modules' tables (declared in tests/test_architecture.py, READ_MODEL), here only.
It also answers the reads that go against the import graph (a module asking about data of a
module that depends on it: jobs about applications, applications about documents), so no module
imports one above it and the graph keeps no cycles; the last section holds those.

Rates over the applications in the window (applied within the last `days`):
  response rate   share that moved past `applied` (any later status, withdrawn excluded)
  interview rate  share that reached interviewing (or later: offered, hired)
  offer rate      share that reached offered (or hired)
Time to hire: mean days from applying to the change to `hired`, for hires in the window.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.context import Principal
from hotgigs.core.rpc import ADMIN, CANDIDATE
from hotgigs.db import Reader
from hotgigs.models import (
    ApplicationStatusHistory,
    CandidateProfile,
    Company,
    CompanyMember,
    Document,
    Education,
    Experience,
    Job,
    JobApplication,
    User,
)

RESPONDED = ("screening", "interviewing", "offered", "hired", "rejected")
INTERVIEWED = ("interviewing", "offered", "hired")
OFFERED = ("offered", "hired")
PROFILE_PARTS = 10


@dataclasses.dataclass(frozen=True)
class Activity:
    kind: str
    application_id: int
    job_id: int
    job_title: str
    status: str
    occurred_at: dt.datetime


def _grouped(session: Session, column: Any, *where: Any) -> dict[str, int]:
    rows = session.execute(sa.select(column, sa.func.count()).where(*where).group_by(column))
    return {str(value): int(count) for value, count in rows}


def _company_ids(actor: Principal) -> Any:
    return sa.select(CompanyMember.company_id).where(CompanyMember.user_id == actor.user_id)


def _applications_scope(actor: Principal) -> list[Any]:
    """Which applications count for the caller: their own, their companies', or all (admin)."""
    if actor.role == CANDIDATE:
        return [JobApplication.candidate_id == actor.user_id]
    if actor.role == ADMIN:
        return []
    jobs = sa.select(Job.id).where(Job.company_id.in_(_company_ids(actor)))
    return [JobApplication.job_id.in_(jobs)]


def profile_completion(session: Session, user_id: int) -> float:
    """Share (0-100) of the ten things a complete candidate profile has."""
    user = session.get(User, user_id)
    profile = session.get(CandidateProfile, user_id)
    if user is None:
        return 0.0
    has_experience = session.scalar(sa.select(sa.func.count()).select_from(Experience)
                                     .where(Experience.user_id == user_id))
    has_education = session.scalar(sa.select(sa.func.count()).select_from(Education)
                                   .where(Education.user_id == user_id))
    has_resume = session.scalar(sa.select(sa.func.count()).select_from(Document).where(
        Document.owner_id == user_id, Document.document_type == "resume"))
    parts = [bool(user.bio), bool(user.location or (profile and profile.location)),
             bool(profile and profile.headline), bool(profile and profile.skills),
             bool(profile and profile.experience_level), bool(profile and profile.availability),
             bool(profile and profile.salary_min is not None), bool(has_experience),
             bool(has_education), bool(has_resume)]
    return round(100.0 * sum(parts) / PROFILE_PARTS, 1)


def _recent(session: Session, where: list[Any], limit: int = 5) -> list[Activity]:
    rows = session.execute(
        sa.select(ApplicationStatusHistory, JobApplication.job_id, Job.title)
        .join(JobApplication, JobApplication.id == ApplicationStatusHistory.application_id)
        .join(Job, Job.id == JobApplication.job_id).where(*where)
        .order_by(ApplicationStatusHistory.changed_at.desc(), ApplicationStatusHistory.id.desc())
        .limit(limit)).all()
    return [Activity("application_received" if entry.from_status is None else "status_changed",
                     entry.application_id, job_id, title, entry.to_status, entry.changed_at)
            for entry, job_id, title in rows]


def dashboard(session: Session, *, actor: Principal) -> dict[str, Any]:
    scope = _applications_scope(actor)
    applications = _grouped(session, JobApplication.status, *scope)
    if actor.role == CANDIDATE:
        profile = session.get(CandidateProfile, actor.user_id)
        matches = 0
        if profile is not None and profile.skills:
            matches = int(session.scalar(sa.select(sa.func.count()).select_from(Job).where(
                Job.status == "active", Job.skills_required.overlap(list(profile.skills)))) or 0)
        return {"applications": applications, "job_matches": matches,
                "profile_completion": profile_completion(session, actor.user_id),
                "recent_activity": _recent(session, scope)}
    if actor.role == ADMIN:
        return {"applications": applications, "jobs": _grouped(session, Job.status),
                "platform": {
                    "total_users": int(session.scalar(sa.select(sa.func.count()).select_from(User)) or 0),
                    "active_jobs": int(session.scalar(sa.select(sa.func.count()).select_from(Job)
                                                      .where(Job.status == "active")) or 0),
                    "companies": int(session.scalar(sa.select(sa.func.count()).select_from(Company)) or 0),
                    "applications": sum(applications.values())},
                "recent_activity": _recent(session, scope)}
    companies = list(session.scalars(_company_ids(actor)))
    candidates = int(session.scalar(sa.select(sa.func.count(sa.distinct(JobApplication.candidate_id)))
                                    .where(*scope)) or 0)
    return {"applications": applications,
            "jobs": _grouped(session, Job.status, Job.company_id.in_(companies)),
            "companies": len(companies), "clients": len(companies), "candidates": candidates,
            "placements": {"hired": applications.get("hired", 0)},
            "recent_activity": _recent(session, scope)}


def metrics(session: Session, *, actor: Principal, start: dt.datetime, end: dt.datetime
            ) -> dict[str, Any]:
    """Rates, hires and counts over the applications applied for between `start` and `end`."""
    scope = [*_applications_scope(actor), JobApplication.applied_at >= start,
             JobApplication.applied_at <= end]
    total = int(session.scalar(sa.select(sa.func.count()).select_from(JobApplication)
                               .where(*scope)) or 0)

    def reached(statuses: tuple[str, ...]) -> int:
        reached_ids = sa.select(ApplicationStatusHistory.application_id).where(
            ApplicationStatusHistory.to_status.in_(statuses))
        return int(session.scalar(sa.select(sa.func.count()).select_from(JobApplication).where(
            *scope, JobApplication.id.in_(reached_ids))) or 0)

    def rate(count: int) -> float:
        return round(count / total, 4) if total else 0.0

    hired = sa.select(ApplicationStatusHistory.application_id,
                      sa.func.min(ApplicationStatusHistory.changed_at).label("hired_at")).where(
        ApplicationStatusHistory.to_status == "hired").group_by(
        ApplicationStatusHistory.application_id).subquery()
    hires = session.execute(
        sa.select(sa.func.count(), sa.func.avg(sa.extract(
            "epoch", hired.c.hired_at - JobApplication.applied_at) / 86400.0))
        .select_from(JobApplication).join(hired, hired.c.application_id == JobApplication.id)
        .where(*scope)).one()
    result: dict[str, Any] = {"response_rate": rate(reached(RESPONDED)),
                              "interview_rate": rate(reached(INTERVIEWED)),
                              "offer_rate": rate(reached(OFFERED))}
    if actor.role == CANDIDATE:
        result["applications_submitted"] = total
    else:
        job_scope = [] if actor.role == ADMIN else [Job.company_id.in_(_company_ids(actor))]
        result["jobs_posted"] = int(session.scalar(
            sa.select(sa.func.count()).select_from(Job).where(
                *job_scope, Job.created_at >= start, Job.created_at <= end)) or 0)
        result["applications_received"] = total
        result["hires_made"] = int(hires[0] or 0)
        result["time_to_hire"] = round(float(hires[1]), 2) if hires[1] is not None else 0.0
    return result


# ---- reads for modules lower in the import graph (see the module docstring) ----------------
# Application statuses still in the pipeline (not hired, rejected or withdrawn).
PIPELINE = ("applied", "screening", "interviewing", "offered")


def application_counts(reader: Reader, job_ids: list[int]) -> dict[int, int]:
    """Applications per job of `job_ids` (every id present, zeros included), one query."""
    counts = dict.fromkeys(job_ids, 0)
    if job_ids:
        rows = reader.execute(sa.select(JobApplication.job_id, sa.func.count())
                               .where(JobApplication.job_id.in_(job_ids))
                               .group_by(JobApplication.job_id))
        counts.update({int(job_id): int(count) for job_id, count in rows})
    return counts


def applications_to_jobs(session: Session, *, job_status: str | None, company_id: int | None) -> int:
    """Applications to the jobs with that status and/or of that company (None: any)."""
    where: list[sa.ColumnElement[bool]] = []
    if job_status is not None:
        where.append(Job.status == job_status)
    if company_id is not None:
        where.append(Job.company_id == company_id)
    return int(session.scalar(sa.select(sa.func.count()).select_from(JobApplication)
                              .join(Job, Job.id == JobApplication.job_id).where(*where)) or 0)


def applicants_in_pipeline(session: Session, job_id: int) -> list[int]:
    """Candidates whose application to the job is still in the pipeline."""
    return list(session.scalars(sa.select(JobApplication.candidate_id).where(
        JobApplication.job_id == job_id, JobApplication.status.in_(PIPELINE))))


def document_owner(session: Session, document_id: int) -> int | None:
    """Who uploaded the document (None: no such document)."""
    return session.scalar(sa.select(Document.owner_id).where(Document.id == document_id))


def popular_open_jobs(session: Session, *, days: int, limit: int) -> list[tuple[Job, Company]]:
    """Public jobs, most applications in the last `days` days first, then the newest (one
    indexed query, bounded by `limit`)."""
    now = sa.func.now()
    recent = (sa.select(JobApplication.job_id, sa.func.count().label("applications"))
              .where(JobApplication.applied_at > now - sa.text(f"interval '{int(days)} days'"))
              .group_by(JobApplication.job_id).subquery())
    rows = session.execute(
        sa.select(Job, Company).join(Company, Company.id == Job.company_id)
        .outerjoin(recent, recent.c.job_id == Job.id)
        .where(Job.status == "active",
               sa.or_(Job.application_deadline.is_(None), Job.application_deadline > now))
        .order_by(sa.func.coalesce(recent.c.applications, 0).desc(), Job.created_at.desc(),
                  Job.id.desc())
        .limit(limit)).all()
    return [(row[0], row[1]) for row in rows]
