"""UserServicer called directly, without tokens or a network: a `RequestContext` carrying a
principal is activated the way the request-context and auth interceptors do it. Checks the
proto mapping (presence, clear_fields), the caller check and that session_scope commits
on success and rolls back on errors. The policy table and the gRPC/REST transport are covered by
the server-level tests."""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from typing import cast

import grpc
import pytest
from sqlalchemy.orm import Session

from hotgigs import context, manifest
from hotgigs.context import Principal, RequestContext
from hotgigs.db import Database
from hotgigs.errors import InvalidArgument, NotFound, Unauthenticated
from hotgigs.models import CandidateProfile, User
from hotgigs.users import service
from hotgigs.users.servicer import UserServicer
from hotgigs.v1 import users_pb2

NO_GRPC_CONTEXT = cast(grpc.ServicerContext, None)  # the servicer never touches it
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def database(own_database: Database) -> Database:
    """This module's own database (the servicer is called directly, without the suite's server)."""
    return own_database


@pytest.fixture(scope="module")
def servicer(database: Database) -> UserServicer:
    return UserServicer(database)


def create_user(database: Database, user_type: str = "candidate", *,
                last_name: str = "User", with_profile: bool = True) -> User:
    with database.session_scope() as session:
        user = User(email=f"servicer{next(_numbers)}@example.test", password_hash="not-a-hash",
                    first_name="Test", last_name=last_name, user_type=user_type)
        session.add(user)
        session.flush()
        if user_type == "candidate" and with_profile:
            session.add(CandidateProfile(user_id=user.id))
        return user


@contextlib.contextmanager
def rpc(user: User | None, method: str = "Test") -> Iterator[RequestContext]:
    """The per-RPC context the interceptors would set, with `user` as the caller."""
    principal = None if user is None else Principal(user_id=user.id, role=user.user_type,
                                                    session_id="s", token_id="t")
    state = RequestContext(request_id="req-1", method=f"/hotgigs.v1.UserService/{method}",
                           principal=principal)
    token = context.activate(state)
    try:
        yield state
    finally:
        context.reset(token)


@pytest.fixture
def candidate(database: Database) -> User:
    return create_user(database)


SIGNED_IN_RPCS = [
    ("GetProfile", users_pb2.GetProfileRequest()),
    ("UpdateProfile", users_pb2.UpdateProfileRequest(bio="x")),
    ("UpdateCandidateProfile", users_pb2.UpdateCandidateProfileRequest(headline="x")),
    ("AddExperience", users_pb2.AddExperienceRequest(company_name="a", job_title="b",
                                                     start_date="2020-01-01")),
    ("UpdateExperience", users_pb2.UpdateExperienceRequest(id=1)),
    ("DeleteExperience", users_pb2.DeleteExperienceRequest(id=1)),
    ("AddEducation", users_pb2.AddEducationRequest(institution_name="MIT")),
    ("UpdateEducation", users_pb2.UpdateEducationRequest(id=1)),
    ("DeleteEducation", users_pb2.DeleteEducationRequest(id=1)),
    ("SearchUsers", users_pb2.SearchUsersRequest(q="test")),
]


class TestCaller:
    @pytest.mark.parametrize(("method", "request_message"), SIGNED_IN_RPCS,
                             ids=[name for name, _ in SIGNED_IN_RPCS])
    def test_every_rpc_but_get_user_needs_a_caller(self, servicer: UserServicer, method: str,
                                                   request_message: object) -> None:
        with rpc(None, method), pytest.raises(Unauthenticated):
            getattr(servicer, method)(request_message, NO_GRPC_CONTEXT)

    def test_get_user_is_public(self, servicer: UserServicer, candidate: User) -> None:
        with rpc(None, "GetUser"):
            response = servicer.GetUser(users_pb2.GetUserRequest(id=candidate.id),
                                        NO_GRPC_CONTEXT)
        assert response.user.id == candidate.id
        assert candidate.email.encode() not in response.SerializeToString()


class TestProfileRpcs:
    def test_update_profile_touches_only_present_fields_and_commits(
            self, servicer: UserServicer, database: Database, candidate: User) -> None:
        with rpc(candidate):
            response = servicer.UpdateProfile(users_pb2.UpdateProfileRequest(
                bio="Hi <script>alert(1)</script>there", location="Rome"), NO_GRPC_CONTEXT)
        assert response.user.profile.bio == "Hi there"
        assert response.user.first_name == "Test", "an absent optional field is unchanged"
        with database.session_scope() as session:
            stored = session.get(User, candidate.id)
            assert stored is not None and (stored.bio, stored.location) == ("Hi there", "Rome")

    def test_invalid_update_rolls_back(self, servicer: UserServicer, database: Database,
                                       candidate: User) -> None:
        with rpc(candidate), pytest.raises(InvalidArgument) as error:
            servicer.UpdateProfile(users_pb2.UpdateProfileRequest(
                bio="kept out", first_name=""), NO_GRPC_CONTEXT)
        assert {v.field for v in error.value.violations} == {"first_name"}
        with database.session_scope() as session:
            stored = session.get(User, candidate.id)
            assert stored is not None and stored.bio is None

    def test_candidate_profile_presence_and_clear_fields(self, servicer: UserServicer,
                                                         candidate: User) -> None:
        with rpc(candidate):
            response = servicer.UpdateCandidateProfile(users_pb2.UpdateCandidateProfileRequest(
                desired_salary_min=0, desired_salary_max=100, experience_years=0,
                skills=["Go"]), NO_GRPC_CONTEXT)
            profile = response.candidate_profile
            assert profile.HasField("desired_salary_min") and profile.desired_salary_min == 0
            assert profile.HasField("experience_years"), "zero is a value, not absence"
            assert list(profile.skills) == ["go"]
            cleared = servicer.UpdateCandidateProfile(users_pb2.UpdateCandidateProfileRequest(
                clear_fields=["desired_salary_max", "skills"]), NO_GRPC_CONTEXT)
        assert not cleared.candidate_profile.HasField("desired_salary_max")
        assert cleared.candidate_profile.desired_salary_min == 0, "not named: kept"
        assert list(cleared.candidate_profile.skills) == []

    def test_first_updates_racing_for_a_missing_profile_both_succeed(
            self, servicer: UserServicer, database: Database) -> None:
        """The profile row is created with INSERT ... ON CONFLICT DO NOTHING and then locked:
        a second first-update waits for the first and updates the same row instead of failing
        on the primary key (which would be INTERNAL)."""
        user = create_user(database, with_profile=False)
        actor = Principal(user_id=user.id, role="candidate", session_id="s", token_id="t")
        outcome: dict[str, object] = {}

        def second() -> None:
            with rpc(user):  # context variables are per thread
                try:
                    outcome["response"] = servicer.UpdateCandidateProfile(
                        users_pb2.UpdateCandidateProfileRequest(current_title="second"),
                        NO_GRPC_CONTEXT)
                except Exception as error:  # reported by the assertion below
                    outcome["error"] = error

        with Session(database.engine) as first:
            service.update_candidate_profile(
                first, actor=actor, update_in=service.CandidateProfileUpdateIn(headline="first"))
            racer = threading.Thread(target=second)
            racer.start()
            racer.join(0.5)
            assert racer.is_alive(), "the second update waits for the first transaction"
            first.commit()
        racer.join(10)
        assert "error" not in outcome, outcome.get("error")
        response = outcome["response"]
        assert isinstance(response, users_pb2.UpdateCandidateProfileResponse)
        assert (response.candidate_profile.headline,
                response.candidate_profile.current_title) == ("first", "second")

    def test_get_profile(self, servicer: UserServicer, candidate: User) -> None:
        with rpc(candidate):
            servicer.AddEducation(users_pb2.AddEducationRequest(
                institution_name="ETH", gpa=5.5), NO_GRPC_CONTEXT)
            response = servicer.GetProfile(users_pb2.GetProfileRequest(), NO_GRPC_CONTEXT)
        assert response.user.email == candidate.email
        assert response.candidate_profile.user_id == candidate.id
        assert [e.institution_name for e in response.education] == ["ETH"]


class TestHistoryRpcs:
    def test_experience_lifecycle(self, servicer: UserServicer, candidate: User) -> None:
        with rpc(candidate):
            added = servicer.AddExperience(users_pb2.AddExperienceRequest(
                company_name="Initech", job_title="Engineer", start_date="2019-03-01",
                end_date="2022-06-30", achievements=["TPS v2"]), NO_GRPC_CONTEXT)
            # 201 is declared in users/policy.py and set by the REST-status interceptor
            assert manifest.REST_STATUSES["/hotgigs.v1.UserService/AddExperience"] == 201
        entry = added.experience
        assert (entry.company_name, entry.end_date) == ("Initech", "2022-06-30")
        assert entry.HasField("created_at") and entry.HasField("updated_at")
        with rpc(candidate):
            updated = servicer.UpdateExperience(users_pb2.UpdateExperienceRequest(
                id=entry.id, is_current=True), NO_GRPC_CONTEXT).experience
            assert (updated.is_current, updated.end_date, updated.job_title) == (
                True, "", "Engineer")
            assert list(updated.achievements) == ["TPS v2"], "empty repeated field: unchanged"
            servicer.DeleteExperience(users_pb2.DeleteExperienceRequest(id=entry.id),
                                      NO_GRPC_CONTEXT)
            with pytest.raises(NotFound):
                servicer.DeleteExperience(users_pb2.DeleteExperienceRequest(id=entry.id),
                                          NO_GRPC_CONTEXT)

    def test_someone_elses_education_is_not_found(self, servicer: UserServicer,
                                                  database: Database, candidate: User) -> None:
        other = create_user(database)
        with rpc(other):
            theirs = servicer.AddEducation(users_pb2.AddEducationRequest(
                institution_name="MIT", gpa=3.7), NO_GRPC_CONTEXT).education
        assert theirs.gpa == pytest.approx(3.7)
        with rpc(candidate):
            with pytest.raises(NotFound):
                servicer.UpdateEducation(users_pb2.UpdateEducationRequest(
                    id=theirs.id, degree="PhD"), NO_GRPC_CONTEXT)
            with pytest.raises(NotFound):
                servicer.DeleteEducation(users_pb2.DeleteEducationRequest(id=theirs.id),
                                         NO_GRPC_CONTEXT)
        with rpc(other):
            cleared = servicer.UpdateEducation(users_pb2.UpdateEducationRequest(
                id=theirs.id, clear_fields=["gpa"]), NO_GRPC_CONTEXT).education
        assert not cleared.HasField("gpa")
        assert cleared.institution_name == "MIT"


class TestSearchAndGetUser:
    def test_search_pagination_and_emails(self, servicer: UserServicer,
                                          database: Database) -> None:
        marker = f"Quixote{next(_numbers)}"
        me = create_user(database, last_name=marker)
        others = [create_user(database, last_name=marker) for _ in range(2)]
        with rpc(me):
            response = servicer.SearchUsers(users_pb2.SearchUsersRequest(q=marker.lower()),
                                            NO_GRPC_CONTEXT)
            page = servicer.SearchUsers(users_pb2.SearchUsersRequest(
                q=marker, limit=1, offset=1), NO_GRPC_CONTEXT)
        assert (response.pagination.limit, response.pagination.offset,
                response.pagination.total) == (20, 0, 3)
        emails = {u.id: u.email for u in response.users}
        assert emails[me.id] == me.email
        assert all(emails[o.id] == "" for o in others)
        assert (len(page.users), page.pagination.limit, page.pagination.total) == (1, 1, 3)

    def test_get_user_hides_private_data(self, servicer: UserServicer, database: Database,
                                         candidate: User) -> None:
        with rpc(candidate):
            servicer.UpdateCandidateProfile(users_pb2.UpdateCandidateProfileRequest(
                headline="Data engineer", desired_salary_min=99_991), NO_GRPC_CONTEXT)
        viewer = create_user(database, "company")
        with rpc(viewer):
            response = servicer.GetUser(users_pb2.GetUserRequest(id=candidate.id),
                                        NO_GRPC_CONTEXT)
            with pytest.raises(NotFound):
                servicer.GetUser(users_pb2.GetUserRequest(id=candidate.id + 100_000),
                                 NO_GRPC_CONTEXT)
        assert response.user.candidate_profile.headline == "Data engineer"
        assert not response.user.candidate_profile.HasField("desired_salary_min")
        assert candidate.email.encode() not in response.SerializeToString()
