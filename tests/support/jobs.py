"""Jobs written straight into a test's database (no API, no cache invalidation): what search
tests count and page through."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.models import Company, Job


def add_courier_jobs(database: Database, word: str, count: int, *, newest: dt.datetime) -> None:
    """`count` active jobs titled "Courier <word>", one a minute back from `newest`, in the
    database's first company (made when there is none). No generation is bumped: a kept total
    or cached answer stays until the test bumps it."""
    with database.session_scope() as session:
        company = session.scalar(sa.select(Company).limit(1))
        if company is None:
            company = Company(name="Courier Co", slug=f"courier-{uuid.uuid4().hex[:8]}")
            session.add(company)
            session.flush()
        session.add_all(Job(company_id=company.id, title=f"Courier {word}", description="d" * 60,
                            employment_type="full-time", experience_level="mid", status="active",
                            created_at=newest - dt.timedelta(minutes=n)) for n in range(count))
