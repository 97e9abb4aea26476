"""The candidates service without gRPC or Envoy, on the real PostgreSQL of the suite.

Each test runs in one transaction of the module's own database (the `session` fixture), rolled
back at the end, so it sees only what it creates.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from hotgigs import visibility
from hotgigs.candidates import service
from hotgigs.context import Principal
from hotgigs.errors import InvalidArgument, NotFound, PermissionDenied
from hotgigs.models import CandidateProfile
from tests.factories import make_user


def _user(session: Session, user_type: str = "candidate", *, skills: tuple[str, ...] = (),
          public: bool = True) -> Principal:
    user = make_user(session, user_type, with_profile=False)
    if user_type == "candidate":
        session.add(CandidateProfile(user_id=user.id, skills=list(skills), is_public=public,
                                     salary_min=50_000, salary_max=70_000))
        session.flush()
    return Principal(user_id=user.id, role=user_type, session_id="", token_id="")


class TestValidate:
    @pytest.mark.parametrize("search_in", [
        service.SearchIn(salary_min=90_000, salary_max=10_000), service.SearchIn(limit=0),
        service.SearchIn(experience_level="wizard"), service.SearchIn(skills=("x",) * 21)])
    def test_refuses_bad_searches(self, search_in: service.SearchIn) -> None:
        with pytest.raises(InvalidArgument):
            service.validate(search_in)

    def test_normalises_skills(self) -> None:
        search = service.validate(service.SearchIn(skills=("Python", " SQL ")))
        assert search.filters.skills == ("python", "sql")


class TestSearch:
    def test_finds_public_candidates_by_skill_and_salary(self, session: Session) -> None:
        skill = f"skill-{uuid.uuid4().hex[:8]}"
        found_one = _user(session, skills=(skill,))
        _user(session, skills=(skill,), public=False)
        employer = _user(session, "company")
        found = service.search(session, actor=employer, search=service.validate(
            service.SearchIn(skills=(skill,), salary_min=60_000)))
        assert [hit.user.id for hit in found.hits] == [found_one.user_id] and found.total == 1
        # no application to the employer's companies: the e-mail is not theirs to see
        assert visibility.APPLICANT_COMPANY not in found.audiences[found_one.user_id]
        assert service.search(session, actor=employer, search=service.validate(
            service.SearchIn(skills=(skill,), salary_min=80_000))).total == 0


class TestGet:
    def test_a_candidate_sees_only_themself(self, session: Session) -> None:
        me, other = _user(session), _user(session)
        with pytest.raises(PermissionDenied):
            service.get(session, actor=me, candidate_id=other.user_id)
        view = service.get(session, actor=me, candidate_id=me.user_id)
        assert view.profile.user.id == me.user_id and visibility.SELF in view.audiences

    def test_a_private_or_non_candidate_profile_is_not_found(self, session: Session) -> None:
        employer = _user(session, "company")
        hidden = _user(session, public=False)
        for candidate_id in (hidden.user_id, employer.user_id):
            with pytest.raises(NotFound):
                service.get(session, actor=employer, candidate_id=candidate_id)
