"""The row factories and the rolled-back `session` fixture that service tests build on."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.db import Database
from hotgigs.models import CompanyMember, JobApplication, User
from tests import factories


def test_a_whole_hiring_story_in_rows(session: Session) -> None:
    owner, company = factories.make_owner(session, name="Rows Co")
    job = factories.make_job(session, company, title="Rows Engineer")
    candidate = factories.make_candidate(session)
    application = factories.make_application(session, candidate, job)
    membership = session.scalars(sa.select(CompanyMember).where(
        CompanyMember.company_id == company.id)).one()
    assert (membership.user_id, membership.role) == (owner.id, "admin")
    assert (job.company_id, job.status, job.posted_by) == (company.id, "active", owner.id)
    assert job.published_at is not None
    stored = session.get(JobApplication, application.id)
    assert stored is not None and (stored.candidate_id, stored.status) == (candidate.id, "applied")


def test_the_session_commits_nothing_others_see(session: Session, own_database: Database) -> None:
    """A commit inside the test is a savepoint of the test's transaction, rolled back after it."""
    user = factories.make_user(session, "company")
    session.commit()
    with own_database.engine.connect() as other:
        assert other.execute(sa.select(User.id).where(User.id == user.id)).first() is None
