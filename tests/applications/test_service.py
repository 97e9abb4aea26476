"""The applications service without gRPC or Envoy, on the real PostgreSQL of the suite.

Each test runs in one transaction of the module's own database (the `session` fixture), rolled
back at the end, so it sees only what it creates.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.applications import service
from hotgigs.companies import service as companies_service
from hotgigs.context import Principal
from hotgigs.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from hotgigs.jobs import service as jobs_service
from hotgigs.models import Document, Notification, OutboxEmail
from tests.factories import make_user

DESCRIPTION = "Build and run the backend services of a job platform, in Python, with care."



def _user(session: Session, user_type: str = "candidate") -> Principal:
    user = make_user(session, user_type, with_profile=False)
    return Principal(user_id=user.id, role=user_type, session_id="", token_id="")


def _job(session: Session, owner: Principal, *, publish: bool = True) -> int:
    company = companies_service.create(session, actor=owner,
                                       company_in=companies_service.CompanyIn(name="Service Test Co"))
    job = jobs_service.create(session, actor=owner, job_in=jobs_service.JobIn(
        company_id=company.id, title="Backend Engineer", description=DESCRIPTION,
        employment_type="full-time", experience_level="mid"))
    if publish:
        jobs_service.change_status(session, actor=owner, job_id=job.id, status="active")
    return job.id


def _document(session: Session, owner: Principal) -> int:
    document = Document(owner_id=owner.user_id, document_type="resume", title="CV",
                        filename="cv.txt", size_bytes=3, content_type="text/plain",
                        sha256="0" * 64, content=b"abc")
    session.add(document)
    session.flush()
    return document.id


class TestApply:
    def test_a_submission_is_seven_statements_with_its_notification_and_mail(
            self, session: Session) -> None:
        """The application with its history entry, the member's notification and its mail, all
        in the caller's transaction, in seven statements (issue 17): the job, the insert, the
        members, everyone's contacts at once, preferences, notifications, mail."""
        owner = _user(session, "company")
        job_id = _job(session, owner)
        candidate = _user(session)
        session.flush()
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement.split(None, 1)[0].upper())

        engine = session.get_bind()
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            view = service.apply(session, actor=candidate,
                                 application_in=service.ApplicationIn(job_id=job_id, cover_letter="Hi"))
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        assert len(statements) == 7, statements
        assert view.candidate is not None and view.candidate.id == candidate.user_id
        notified = session.execute(sa.select(Notification.user_id, Notification.title)
                                   .where(Notification.user_id == owner.user_id)).all()
        assert notified == [(owner.user_id, "New application for Backend Engineer")]
        mailed = session.scalars(sa.select(OutboxEmail.subject).where(
            OutboxEmail.subject == "HotGigs: New application for Backend Engineer")).all()
        assert len(mailed) == 1
        assert [change.to_status for change in view.history] == ["applied"]

    def test_only_candidates_apply_and_only_to_open_jobs(self, session: Session) -> None:
        owner, candidate = _user(session, "company"), _user(session)
        draft = _job(session, owner, publish=False)
        with pytest.raises(PermissionDenied):
            service.apply(session, actor=owner, application_in=service.ApplicationIn(job_id=draft))
        with pytest.raises(FailedPrecondition):
            service.apply(session, actor=candidate,
                          application_in=service.ApplicationIn(job_id=draft))

    def test_refuses_another_users_document(self, session: Session) -> None:
        owner, candidate, other = _user(session, "company"), _user(session), _user(session)
        with pytest.raises(InvalidArgument):
            service.apply(session, actor=candidate, application_in=service.ApplicationIn(
                job_id=_job(session, owner), resume_document_id=_document(session, other)))

    def test_an_application_opens_the_candidate_to_the_company_until_withdrawn(
            self, session: Session) -> None:
        owner, candidate, stranger = _user(session, "company"), _user(session), _user(session, "company")
        document_id = _document(session, candidate)
        application = service.apply(session, actor=candidate, application_in=service.ApplicationIn(
            job_id=_job(session, owner), resume_document_id=document_id)).application
        assert service.applicants_of(session, viewer_id=owner.user_id,
                                     candidate_ids=[candidate.user_id]) == {candidate.user_id}
        assert service.attached_document_ids(session, viewer_id=owner.user_id,
                                             owner_id=candidate.user_id) == {document_id}
        assert service.applicants_of(session, viewer_id=stranger.user_id,
                                     candidate_ids=[candidate.user_id]) == set()
        service.withdraw(session, actor=candidate, application_id=application.id, reason=None)
        assert service.applicants_of(session, viewer_id=owner.user_id,
                                     candidate_ids=[candidate.user_id]) == set()
        assert service.attached_document_ids(session, viewer_id=owner.user_id,
                                             owner_id=candidate.user_id) == set()


class TestRead:
    def test_only_the_candidate_and_the_company_see_an_application(self, session: Session) -> None:
        owner, candidate, other = _user(session, "company"), _user(session), _user(session)
        application = service.apply(session, actor=candidate,
                                    application_in=service.ApplicationIn(
                                        job_id=_job(session, owner))).application
        for viewer in (candidate, owner):
            found, _ = service.get(session, actor=viewer, application_id=application.id)
            assert found.id == application.id
        with pytest.raises(NotFound):
            service.get(session, actor=other, application_id=application.id)
        assert [a.id for a in service.list_applications(
            session, actor=candidate, list_in=service.ListIn()).items] == [application.id]
        assert service.list_applications(session, actor=other, list_in=service.ListIn()).total == 0
        view, = service.views(session, viewer=owner, applications=[application])
        assert view.member and view.job is not None and view.candidate is not None
        assert [entry.to_status for entry in view.history] == ["applied"]


class TestUpdate:
    def test_the_company_moves_the_status_along_the_pipeline_with_history(
            self, session: Session) -> None:
        owner, candidate = _user(session, "company"), _user(session)
        application = service.apply(session, actor=candidate,
                                    application_in=service.ApplicationIn(
                                        job_id=_job(session, owner))).application
        updated = service.update(session, actor=owner, application_id=application.id,
                                 update_in=service.ApplicationUpdateIn(status="reviewed",
                                                                       notes="Strong CV"))
        assert (updated.status, updated.notes) == ("screening", "Strong CV")  # alias accepted
        cleared = service.update(session, actor=owner, application_id=application.id,
                                 update_in=service.ApplicationUpdateIn(clear=("notes",)))
        assert (cleared.status, cleared.notes) == ("screening", None)
        view, = service.views(session, viewer=owner, applications=[application])
        assert [entry.to_status for entry in view.history] == ["applied", "screening"]

    def test_refuses_bad_changes_and_other_callers(self, session: Session) -> None:
        owner, candidate = _user(session, "company"), _user(session)
        application = service.apply(session, actor=candidate,
                                    application_in=service.ApplicationIn(
                                        job_id=_job(session, owner))).application
        with pytest.raises(InvalidArgument):  # a rejection needs a reason
            service.update(session, actor=owner, application_id=application.id,
                           update_in=service.ApplicationUpdateIn(status="rejected"))
        with pytest.raises(InvalidArgument):
            service.update(session, actor=owner, application_id=application.id,
                           update_in=service.ApplicationUpdateIn(clear=("status",)))
        with pytest.raises(FailedPrecondition):  # applied cannot jump to hired
            service.update(session, actor=owner, application_id=application.id,
                           update_in=service.ApplicationUpdateIn(status="hired"))
        with pytest.raises(PermissionDenied):
            service.update(session, actor=candidate, application_id=application.id,
                           update_in=service.ApplicationUpdateIn(notes="Hire me"))


class TestListForJob:
    def test_a_page_sorted_and_filtered_with_every_status_counted(self, session: Session) -> None:
        owner = _user(session, "company")
        job_id = _job(session, owner)
        first, second = _user(session), _user(session)
        older = service.apply(session, actor=first,
                              application_in=service.ApplicationIn(job_id=job_id)).application
        newer = service.apply(session, actor=second,
                              application_in=service.ApplicationIn(job_id=job_id)).application
        service.withdraw(session, actor=second, application_id=newer.id, reason=None)
        page, counts = service.list_for_job(session, actor=owner, job_id=job_id,
                                            list_in=service.JobListIn(sort_by="status", order="asc"))
        assert [a.id for a in page.items] == [older.id, newer.id]  # applied < withdrawn
        assert (counts["applied"], counts["withdrawn"], counts["hired"]) == (1, 1, 0)
        page, _ = service.list_for_job(session, actor=owner, job_id=job_id,
                                       list_in=service.JobListIn(status="withdrawn"))
        assert [a.id for a in page.items] == [newer.id]

    def test_refuses_strangers_bad_paging_and_unknown_statuses(self, session: Session) -> None:
        owner, stranger = _user(session, "company"), _user(session, "company")
        job_id = _job(session, owner)
        with pytest.raises(PermissionDenied):
            service.list_for_job(session, actor=stranger, job_id=job_id, list_in=service.JobListIn())
        for bad in (service.JobListIn(page=0), service.JobListIn(limit=1000),
                    service.JobListIn(status="lost")):
            with pytest.raises(InvalidArgument):
                service.list_for_job(session, actor=owner, job_id=job_id, list_in=bad)
