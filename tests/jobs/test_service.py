"""The jobs service without gRPC or Envoy, on the real PostgreSQL of the suite.

Each test runs in one transaction of the module's own database (the `session` fixture), rolled
back at the end, so it sees only what it creates.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.context import Principal
from hotgigs.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from hotgigs.jobs import service
from hotgigs.models import Job, Notification, User
from tests.factories import (
    JOB_DESCRIPTION,
    make_application,
    make_candidate,
    make_job,
    make_owner,
    make_user,
)


def _actor(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.user_type, session_id="", token_id="")


def _job_in(company_id: int, **fields: object) -> service.JobIn:
    values: dict[str, object] = {"title": "Backend Engineer", "description": JOB_DESCRIPTION,
                                 "employment_type": "full-time", "experience_level": "mid", **fields}
    return service.JobIn(company_id=company_id, **values)  # type: ignore[arg-type]


def _fields(error: InvalidArgument) -> set[str]:
    return {violation.field for violation in error.violations}


def _notified(session: Session, job: Job) -> set[int]:
    return set(session.scalars(sa.select(Notification.user_id).where(
        Notification.title == f"{job.title} is closed")))


class TestCreate:
    def test_a_member_creates_a_draft_with_normalised_fields(self, session: Session) -> None:
        owner, company = make_owner(session)
        job = service.create(session, actor=_actor(owner), job_in=_job_in(
            company.id, skills_required=["Python", "SQL"], location="", currency=""))
        assert (job.status, job.company_id, job.posted_by) == ("draft", company.id, owner.id)
        assert job.skills_required == ["python", "sql"]
        assert (job.location, job.currency, job.published_at) == (None, "USD", None)
        assert job.created_at is not None

    def test_refuses_bad_input_naming_every_field(self, session: Session) -> None:
        owner, company = make_owner(session)
        with pytest.raises(InvalidArgument) as refused:
            service.create(session, actor=_actor(owner), job_in=service.JobIn(
                company_id=company.id, title="x", description="too short",
                employment_type="sometimes", experience_level="guru", salary_min=-1,
                skills_required=["s"] * 21,
                application_deadline=dt.datetime.now(dt.UTC) - dt.timedelta(days=1)))
        assert _fields(refused.value) == {"title", "description", "employment_type",
                                          "experience_level", "salary_min", "skills_required",
                                          "application_deadline"}

    def test_refuses_a_minimum_salary_above_the_maximum(self, session: Session) -> None:
        owner, company = make_owner(session)
        with pytest.raises(InvalidArgument) as refused:
            service.create(session, actor=_actor(owner),
                           job_in=_job_in(company.id, salary_min=90_000, salary_max=80_000))
        assert _fields(refused.value) == {"salary_min"}

    def test_requires_a_company_the_caller_belongs_to(self, session: Session) -> None:
        owner, company = make_owner(session)
        stranger, _ = make_owner(session)
        with pytest.raises(InvalidArgument):
            service.create(session, actor=_actor(owner), job_in=_job_in(0))
        with pytest.raises(PermissionDenied):
            service.create(session, actor=_actor(stranger), job_in=_job_in(company.id))
        assert session.scalar(sa.select(sa.func.count()).select_from(Job)
                              .where(Job.company_id == company.id)) == 0


class TestUpdate:
    def test_changes_only_the_fields_given_and_clears_those_named(self, session: Session) -> None:
        owner, company = make_owner(session)
        job = make_job(session, company, benefits=["Remote days"])
        updated = service.update(session, actor=_actor(owner), job_id=job.id,
                                 update_in=service.JobUpdateIn(title="Staff Engineer",
                                                               clear=("salary_max", "benefits")))
        assert (updated.title, updated.location, updated.salary_min) == (
            "Staff Engineer", "Berlin, Germany", 70000)
        assert (updated.salary_max, updated.benefits) == (None, [])

    def test_refuses_an_unknown_clear_field_and_an_unknown_status(self, session: Session) -> None:
        owner, company = make_owner(session)
        job = make_job(session, company)
        with pytest.raises(InvalidArgument) as refused:
            service.update(session, actor=_actor(owner), job_id=job.id,
                           update_in=service.JobUpdateIn(clear=("title",)))
        assert _fields(refused.value) == {"clear_fields"}
        with pytest.raises(InvalidArgument) as refused:
            service.update(session, actor=_actor(owner), job_id=job.id,
                           update_in=service.JobUpdateIn(status="archived"))
        assert _fields(refused.value) == {"status"}

    def test_a_salary_change_is_checked_against_the_stored_other_end(self, session: Session) -> None:
        owner, company = make_owner(session)
        job = make_job(session, company)  # 70,000 - 90,000
        with pytest.raises(InvalidArgument):
            service.update(session, actor=_actor(owner), job_id=job.id,
                           update_in=service.JobUpdateIn(salary_min=95_000))

    def test_only_members_of_the_company_update_and_a_missing_job_is_not_found(
            self, session: Session) -> None:
        _, company = make_owner(session)
        stranger, _ = make_owner(session)
        job = make_job(session, company)
        with pytest.raises(PermissionDenied):
            service.update(session, actor=_actor(stranger), job_id=job.id,
                           update_in=service.JobUpdateIn(title="Taken over"))
        with pytest.raises(NotFound):
            service.update(session, actor=_actor(stranger), job_id=job.id + 10_000,
                           update_in=service.JobUpdateIn(title="Nothing"))


class TestLifeCycle:
    def test_draft_active_paused_closed_and_closed_is_final(self, session: Session) -> None:
        owner, company = make_owner(session)
        job = make_job(session, company, status="draft")
        actor = _actor(owner)
        published = service.change_status(session, actor=actor, job_id=job.id, status="active")
        assert published.published_at is not None
        first_published = published.published_at
        service.change_status(session, actor=actor, job_id=job.id, status="paused")
        again = service.change_status(session, actor=actor, job_id=job.id, status="active")
        assert again.published_at == first_published
        service.change_status(session, actor=actor, job_id=job.id, status="closed")
        for status in ("active", "paused", "draft"):
            with pytest.raises(FailedPrecondition):
                service.change_status(session, actor=actor, job_id=job.id, status=status)

    def test_a_draft_cannot_be_paused(self, session: Session) -> None:
        owner, company = make_owner(session)
        job = make_job(session, company, status="draft")
        with pytest.raises(FailedPrecondition):
            service.change_status(session, actor=_actor(owner), job_id=job.id, status="paused")

    def test_closing_notifies_the_applicants_still_in_the_pipeline(self, session: Session) -> None:
        owner, company = make_owner(session)
        job = make_job(session, company)
        waiting, interviewing, withdrawn, hired = (make_candidate(session) for _ in range(4))
        make_application(session, waiting, job)
        make_application(session, interviewing, job, status="interviewing")
        make_application(session, withdrawn, job, status="withdrawn")
        make_application(session, hired, job, status="hired")
        service.change_status(session, actor=_actor(owner), job_id=job.id, status="closed")
        assert _notified(session, job) == {waiting.id, interviewing.id}

    def test_pausing_notifies_nobody(self, session: Session) -> None:
        owner, company = make_owner(session)
        job = make_job(session, company)
        make_application(session, make_candidate(session), job)
        service.change_status(session, actor=_actor(owner), job_id=job.id, status="paused")
        assert _notified(session, job) == set()


class TestRead:
    def test_an_active_job_for_anyone_with_its_application_count(self, session: Session) -> None:
        _, company = make_owner(session)
        job = make_job(session, company)
        other = make_job(session, company)
        for _ in range(2):
            make_application(session, make_candidate(session), job)
        make_application(session, make_candidate(session), other)
        detail = service.get(session, actor=None, job_id=job.id)  # a session reads too
        assert (detail.row.id, detail.row.company_name, detail.application_count) == \
            (job.id, company.name, 2)

    def test_a_draft_only_for_members_and_admins(self, session: Session) -> None:
        owner, company = make_owner(session)
        stranger, _ = make_owner(session)
        admin = make_user(session, "admin")
        draft = make_job(session, company, status="draft")
        for viewer in (None, _actor(stranger)):
            with pytest.raises(NotFound):
                service.get(session, actor=viewer, job_id=draft.id)
        for viewer in (_actor(owner), _actor(admin)):
            assert service.get(session, actor=viewer, job_id=draft.id).application_count == 0
        with pytest.raises(NotFound):
            service.get(session, actor=None, job_id=draft.id + 10_000)


class TestStats:
    def test_public_counts_and_each_of_the_callers_companies(self, session: Session) -> None:
        owner, company = make_owner(session)
        job = make_job(session, company)
        make_job(session, company, status="draft")
        make_application(session, make_candidate(session), job)
        public_before, _ = service.stats(session, actor=None, company_id=None)
        _, other_company = make_owner(session)
        other_job = make_job(session, other_company)
        make_application(session, make_candidate(session), other_job)
        public, mine = service.stats(session, actor=_actor(owner), company_id=None)
        assert public["total_jobs"] == public_before["total_jobs"] + 1
        assert public["total_applications"] == public_before["total_applications"] + 1
        [(found, counts)] = mine
        assert found.id == company.id
        assert (counts["total_jobs"], counts["total_applications"]) == (2, 1)
        assert counts["by_status"] == {"active": 1, "draft": 1}

    def test_another_companys_counts_are_refused(self, session: Session) -> None:
        owner, _ = make_owner(session)
        _, other_company = make_owner(session)
        with pytest.raises(PermissionDenied):
            service.stats(session, actor=_actor(owner), company_id=other_company.id)
