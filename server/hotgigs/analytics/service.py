"""Real numbers for dashboards and metrics, computed in SQL from the same tables the API
writes (the read model, analytics/queries.py). Plain Python on a SQLAlchemy session."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hotgigs.analytics import queries
from hotgigs.context import Principal
from hotgigs.db import Reader
from hotgigs.validation import Validator

if TYPE_CHECKING:  # other modules' entities, as the read model hands them over
    from hotgigs.models import Company, Job

Activity = queries.Activity
DAYS_DEFAULT, DAYS_MAX = 30, 365


def get_dashboard(session: Session, *, actor: Principal) -> dict[str, Any]:
    """The numbers of the caller's role: their applications, their companies', or the platform."""
    return queries.dashboard(session, actor=actor)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MetricsIn:
    """The window of the metrics: the last `days` (1-365; None: 30)."""

    days: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Metrics:
    values: dict[str, Any]  # the caller's role's numbers (analytics.proto's Metrics fields)
    days: int
    start: dt.datetime
    end: dt.datetime


def get_metrics(session: Session, *, actor: Principal, metrics_in: MetricsIn,
                now: dt.datetime | None = None) -> Metrics:
    """Hiring metrics over the last `metrics_in.days`, ending `now`."""
    check = Validator()
    days = metrics_in.days
    window = check.number("days", DAYS_DEFAULT if days is None else days, minimum=1,
                          maximum=DAYS_MAX) or DAYS_DEFAULT
    check.check("Metrics parameters are invalid")
    end = now or dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(days=window)
    return Metrics(values=queries.metrics(session, actor=actor, start=start, end=end),
                   days=window, start=start, end=end)


REPORTS: dict[str, list[tuple[str, str, str]]] = {
    "candidate": [("my-applications", "My applications", "Every application and its status"),
                  ("profile-strength", "Profile strength", "What a complete profile still needs")],
    "company": [("hiring-funnel", "Hiring funnel", "Applications per pipeline stage per job"),
                ("time-to-hire", "Time to hire", "Days from application to hire per job")],
    "recruiter": [("placements", "Placements", "Hires of the candidates you placed"),
                  ("hiring-funnel", "Hiring funnel", "Applications per pipeline stage per job")],
    "admin": [("platform-growth", "Platform growth", "Users, jobs and applications over time"),
              ("hiring-funnel", "Hiring funnel", "Applications per pipeline stage per job")],
}



def refresh_precomputed(session: Session) -> list[str]:
    """Refresh what the read model precomputes; the names refreshed. It precomputes nothing
    (no materialized views, no summary tables: every answer above is computed from the tables
    when asked, and cached for 15 s), so there is nothing to refresh and the list is empty."""
    del session  # a refresh would run in the caller's transaction
    return []


def list_reports(*, actor: Principal) -> list[tuple[str, str, str]]:
    """The reports of the caller's role: (id, name, description) each."""
    return REPORTS.get(actor.role, [])

# ---- the read model's answers to modules lower in the import graph (analytics/queries.py) ----
def application_counts(reader: Reader, *, job_ids: Iterable[int]) -> dict[int, int]:
    """Applications per job, for every id of `job_ids` (zeros included), in one query."""
    return queries.application_counts(reader, sorted(set(job_ids)))


def applications_to_jobs(session: Session, *, job_status: str | None = None,
                         company_id: int | None = None) -> int:
    """Applications to the jobs with status `job_status` and/or of company `company_id`."""
    return queries.applications_to_jobs(session, job_status=job_status, company_id=company_id)


def applicants_in_pipeline(session: Session, *, job_id: int) -> list[int]:
    """Candidates whose application to `job_id` is not hired, rejected or withdrawn."""
    return queries.applicants_in_pipeline(session, job_id)


def document_owner(session: Session, *, document_id: int) -> int | None:
    """Who uploaded the document (None: no such document), for an application attaching it."""
    return queries.document_owner(session, document_id)


def popular_open_jobs(session: Session, *, days: int, limit: int) -> list[tuple[Job, Company]]:
    """Open public jobs with their companies, most applications in the last `days` days
    first, then the newest; at most `limit` (the ai module's cold start)."""
    return queries.popular_open_jobs(session, days=days, limit=limit)
