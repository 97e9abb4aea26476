"""The analytics service (the read model) without gRPC or Envoy, on the real PostgreSQL of
the suite.

Each test runs in one transaction of this test module's own database (the `session` fixture),
rolled back at the end: it sees only the rows it writes, so platform-wide numbers are exact.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy.orm import Session

from hotgigs.analytics import service
from hotgigs.context import Principal
from hotgigs.errors import InvalidArgument
from hotgigs.models import (
    ApplicationStatusHistory,
    CandidateProfile,
    Company,
    Document,
    Job,
    JobApplication,
    User,
)
from tests.factories import make_application, make_candidate, make_job, make_owner, make_user

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _actor(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.user_type, session_id="", token_id="")


def _move(session: Session, application: JobApplication, *statuses: str,
          at: dt.datetime) -> None:
    """Walk the application through `statuses`, one history entry each (a day apart from `at`)."""
    previous: str | None = application.status
    for day, status in enumerate(statuses):
        session.add(ApplicationStatusHistory(application_id=application.id, from_status=previous,
                                             to_status=status, changed_at=at + dt.timedelta(days=day)))
        previous = status
    application.status = previous or application.status
    session.flush()


def _document(session: Session, owner: User) -> Document:
    document = Document(owner_id=owner.id, document_type="resume", title="CV", filename="cv.txt",
                        size_bytes=3, content_type="text/plain", sha256="0" * 64, content=b"abc")
    session.add(document)
    session.flush()
    return document


@dataclasses.dataclass(frozen=True)
class Hiring:
    owner: User
    company: Company
    job: Job
    people: dict[str, User]
    apps: dict[str, JobApplication]


@pytest.fixture
def hiring(session: Session) -> Hiring:
    """A company with an active and a draft job; three candidates applied 10 days before NOW:
    one hired 4 days later (via screening, interviewing, offered), one rejected after an
    interview, one still applied."""
    owner, company = make_owner(session)
    job = make_job(session, company, skills_required=["python", "sql"])
    make_job(session, company, status="draft")
    applied_at = NOW - dt.timedelta(days=10)
    people = {name: make_candidate(session) for name in ("hired", "rejected", "waiting")}
    apps = {name: make_application(session, person, job, applied_at=applied_at)
            for name, person in people.items()}
    for application in apps.values():
        _move(session, application, "applied", at=applied_at)
    _move(session, apps["hired"], "screening", "interviewing", "offered", "hired",
          at=applied_at + dt.timedelta(days=1))
    _move(session, apps["rejected"], "interviewing", "rejected", at=applied_at + dt.timedelta(days=1))
    return Hiring(owner, company, job, people, apps)


class TestDashboard:
    def test_the_company_sees_its_jobs_applications_and_placements(
            self, session: Session, hiring: Hiring) -> None:
        owner = hiring.owner
        board = service.get_dashboard(session, actor=_actor(owner))
        assert board["applications"] == {"hired": 1, "rejected": 1, "applied": 1}
        assert board["jobs"] == {"active": 1, "draft": 1}
        assert (board["companies"], board["candidates"], board["placements"]) == (1, 3, {"hired": 1})
        assert [a.status for a in board["recent_activity"]][:2] == ["hired", "offered"]

    def test_a_company_member_of_nothing_sees_zeros(self, session: Session,
                                                    hiring: Hiring) -> None:
        board = service.get_dashboard(session, actor=_actor(make_user(session, "recruiter")))
        assert (board["applications"], board["jobs"], board["companies"], board["candidates"]) \
            == ({}, {}, 0, 0)
        assert board["recent_activity"] == []

    def test_a_candidate_sees_their_own_and_the_jobs_matching_their_skills(
            self, session: Session, hiring: Hiring) -> None:
        people = hiring.people
        hired = people["hired"]
        profile = session.get(CandidateProfile, hired.id)
        assert profile is not None
        profile.skills, profile.headline = ["python"], "Engineer"
        _document(session, hired)
        session.flush()
        board = service.get_dashboard(session, actor=_actor(hired))
        assert board["applications"] == {"hired": 1}
        assert board["job_matches"] == 1  # the active job, not the draft
        assert board["profile_completion"] == 30.0  # headline, skills, resume of ten parts
        assert {a.application_id for a in board["recent_activity"]} == {hiring.apps["hired"].id}

    def test_an_admin_sees_the_platform(self, session: Session, hiring: Hiring) -> None:
        admin = make_user(session, "admin")
        board = service.get_dashboard(session, actor=_actor(admin))
        assert board["platform"] == {"total_users": 5, "active_jobs": 1, "companies": 1,
                                     "applications": 3}
        assert board["jobs"] == {"active": 1, "draft": 1}


class TestMetrics:
    def test_rates_and_time_to_hire_over_the_window(self, session: Session,
                                                    hiring: Hiring) -> None:
        owner = hiring.owner
        metrics = service.get_metrics(session, actor=_actor(owner), metrics_in=service.MetricsIn(),
                                      now=NOW)
        assert (metrics.days, metrics.end - metrics.start) == (service.DAYS_DEFAULT,
                                                               dt.timedelta(days=30))
        values = metrics.values
        assert values["applications_received"] == 3
        assert (values["response_rate"], values["interview_rate"], values["offer_rate"]) == (
            round(2 / 3, 4), round(2 / 3, 4), round(1 / 3, 4))
        assert (values["hires_made"], values["time_to_hire"]) == (1, 4.0)

    def test_applications_before_the_window_do_not_count(self, session: Session,
                                                         hiring: Hiring) -> None:
        owner = hiring.owner
        values = service.get_metrics(session, actor=_actor(owner),
                                     metrics_in=service.MetricsIn(days=5), now=NOW).values
        assert (values["applications_received"], values["response_rate"]) == (0, 0.0)

    def test_a_candidate_counts_their_submissions(self, session: Session,
                                                  hiring: Hiring) -> None:
        people = hiring.people
        values = service.get_metrics(session, actor=_actor(people["waiting"]),
                                     metrics_in=service.MetricsIn(days=30), now=NOW).values
        assert values == {"response_rate": 0.0, "interview_rate": 0.0, "offer_rate": 0.0,
                          "applications_submitted": 1}

    @pytest.mark.parametrize("days", [0, -1, service.DAYS_MAX + 1])
    def test_refuses_a_window_out_of_range(self, session: Session, days: int) -> None:
        with pytest.raises(InvalidArgument) as refused:
            service.get_metrics(session, actor=_actor(make_user(session, "admin")),
                                metrics_in=service.MetricsIn(days=days))
        assert [v.field for v in refused.value.violations] == ["days"]


def test_reports_of_each_role() -> None:
    def reports(role: str) -> list[str]:
        actor = Principal(user_id=1, role=role, session_id="", token_id="")
        return [ident for ident, _, _ in service.list_reports(actor=actor)]

    assert reports("company") == ["hiring-funnel", "time-to-hire"]
    assert reports("admin") == ["platform-growth", "hiring-funnel"]
    assert reports("nobody") == []


class TestReadModel:
    """The answers the read model gives modules lower in the import graph."""

    def test_application_counts_per_job_zeros_included(self, session: Session,
                                                       hiring: Hiring) -> None:
        job = hiring.job
        _, company = make_owner(session)
        empty = make_job(session, company)
        counts = service.application_counts(session, job_ids=[job.id, empty.id, job.id])
        assert counts == {job.id: 3, empty.id: 0}
        assert service.application_counts(session, job_ids=[]) == {}

    def test_applications_to_jobs_by_status_and_company(self, session: Session,
                                                        hiring: Hiring) -> None:
        company = hiring.company
        _, other = make_owner(session)
        paused = make_job(session, other, status="paused")
        make_application(session, make_candidate(session), paused)
        assert service.applications_to_jobs(session, job_status="active") == 3
        assert service.applications_to_jobs(session, company_id=other.id) == 1
        assert service.applications_to_jobs(session, company_id=company.id) == 3
        assert service.applications_to_jobs(session) == 4

    def test_applicants_in_pipeline_leave_out_final_statuses(
            self, session: Session, hiring: Hiring) -> None:
        people, job = hiring.people, hiring.job
        assert service.applicants_in_pipeline(session, job_id=job.id) == [people["waiting"].id]

    def test_document_owner(self, session: Session) -> None:
        owner = make_candidate(session)
        document = _document(session, owner)
        assert service.document_owner(session, document_id=document.id) == owner.id
        assert service.document_owner(session, document_id=document.id + 10_000) is None

    def test_popular_open_jobs_most_recent_applications_first(self, session: Session) -> None:
        _, company = make_owner(session)
        quiet, popular, old_favourite = (make_job(session, company) for _ in range(3))
        closed = make_job(session, company, status="closed")
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
        for job in (popular, popular, closed, closed, closed):
            make_application(session, make_candidate(session), job)
        for _ in range(3):
            make_application(session, make_candidate(session), old_favourite, applied_at=long_ago)
        found = [job.id for job, _ in service.popular_open_jobs(session, days=30, limit=10)]
        assert found[0] == popular.id
        assert set(found) == {quiet.id, popular.id, old_favourite.id}
        assert [job.id for job, _ in service.popular_open_jobs(session, days=30, limit=1)] == [popular.id]
