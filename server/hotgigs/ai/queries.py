"""SQL statements of the ai module: the pools the offline matcher ranks. The ai module owns no
tables; these read jobs, companies, applications and candidate profiles directly (listed in
tests/test_architecture.py until those modules offer the pools through their services)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import CandidateProfile, Company, Job, JobApplication, User


def job_pool(session: Session, *, skills: Sequence[str], words: str, limit: int
             ) -> list[tuple[Job, Company]]:
    """Active jobs sharing a skill or matching the words, newest first."""
    conditions: list[sa.ColumnElement[bool]] = []
    if skills:
        conditions.append(Job.skills_required.overlap(list(skills)))
    if words:
        conditions.append(Job.search_vector.op("@@")(sa.func.websearch_to_tsquery("english", words)))
    if not conditions:
        return []
    rows = session.execute(sa.select(Job, Company).join(Company, Company.id == Job.company_id)
                           .where(Job.status == "active", sa.or_(*conditions))
                           .order_by(Job.created_at.desc()).limit(limit)).all()
    return [(row[0], row[1]) for row in rows]


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


def candidate_pool(session: Session, *, skills: Sequence[str], limit: int
                   ) -> list[tuple[User, CandidateProfile]]:
    """Active candidates with a public profile sharing a skill (any, without skills), most
    recently updated first."""
    rows = session.execute(
        sa.select(User, CandidateProfile).join(CandidateProfile, CandidateProfile.user_id == User.id)
        .where(User.is_active.is_(True), CandidateProfile.is_public.is_(True),
               CandidateProfile.skills.overlap(list(skills)) if skills else sa.true())
        .order_by(CandidateProfile.updated_at.desc()).limit(limit)).all()
    return [(row[0], row[1]) for row in rows]
