"""SQL statements of the jobs module (search: jobs/search.py, listed in
tests/test_architecture.py); nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import Job


def job_ids_of_companies(session: Session, company_ids: Iterable[int]) -> list[int]:
    ids = sorted(set(company_ids))
    if not ids:
        return []
    return list(session.scalars(sa.select(Job.id).where(Job.company_id.in_(ids)).order_by(Job.id)))
