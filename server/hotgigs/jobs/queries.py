"""SQL statements of the jobs module (search: jobs/search.py, listed in
tests/test_architecture.py); nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import Company, Job


def job_ids_of_companies(session: Session, company_ids: Iterable[int]) -> list[int]:
    ids = sorted(set(company_ids))
    if not ids:
        return []
    return list(session.scalars(sa.select(Job.id).where(Job.company_id.in_(ids)).order_by(Job.id)))


def jobs_by_id(session: Session, job_ids: Iterable[int]) -> dict[int, Job]:
    ids = sorted(set(job_ids))
    if not ids:
        return {}
    return {job.id: job for job in session.scalars(sa.select(Job).where(Job.id.in_(ids)))}


def match_pool(session: Session, *, skills: Sequence[str], words: str, limit: int) -> list[Job]:
    """Active jobs sharing a skill or matching the words (full text), newest first."""
    conditions: list[sa.ColumnElement[bool]] = []
    if skills:
        conditions.append(Job.skills_required.overlap(list(skills)))
    if words:
        conditions.append(Job.search_vector.op("@@")(sa.func.websearch_to_tsquery("english", words)))
    if not conditions:
        return []
    return list(session.scalars(sa.select(Job).where(Job.status == "active", sa.or_(*conditions))
                                .order_by(Job.created_at.desc()).limit(limit)))


# ---- public search (the WHERE and ORDER BY are built by jobs/search.py) ----------------------
def search_page(session: Session, where: Sequence[sa.ColumnElement[bool]], *,
                order_by: Sequence[Any], limit: int, offset: int) -> list[tuple[Job, Company, int]]:
    """(job, company, matches) rows of one page; `matches` is count(*) OVER (), the number of
    matches before LIMIT/OFFSET, so offset paging gets page and true total from ONE scan."""
    matches = sa.func.count().over().label("matches")
    rows = session.execute(
        sa.select(Job, Company, matches).join(Company, Company.id == Job.company_id)
        .where(*where).order_by(*order_by).limit(limit).offset(offset)).all()
    return [(row[0], row[1], int(row[2])) for row in rows]


def count_jobs(session: Session, where: Sequence[sa.ColumnElement[bool]]) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(Job).where(*where)) or 0)


def facets(session: Session, where: Sequence[sa.ColumnElement[bool]]) -> dict[str, dict[str, int]]:
    """Matches by employment type, by experience level, and how many allow remote work."""
    found: dict[str, dict[str, int]] = {}
    for name, column in (("employment_type", Job.employment_type),
                         ("experience_level", Job.experience_level)):
        rows = session.execute(sa.select(column, sa.func.count()).where(*where).group_by(column))
        found[name] = {str(value): int(count) for value, count in rows}
    remote = session.scalar(sa.select(sa.func.count()).select_from(Job)
                            .where(*where, Job.remote_work_allowed.is_(True)))
    found["remote"] = {"true": int(remote or 0)}
    return found


def job_counts(session: Session, where: Sequence[sa.ColumnElement[bool]]) -> dict[str, Any]:
    """Jobs matching `where`: total, by status, type and level (their applications are
    counted by the read model, `hotgigs.analytics.service`)."""
    def grouped(column: Any) -> dict[str, int]:
        rows = session.execute(sa.select(column, sa.func.count()).where(*where).group_by(column))
        return {str(value): int(count) for value, count in rows}

    total = session.scalar(sa.select(sa.func.count()).select_from(Job).where(*where))
    return {"total_jobs": int(total or 0), "by_status": grouped(Job.status),
            "by_employment_type": grouped(Job.employment_type),
            "by_experience_level": grouped(Job.experience_level)}
