"""Property-based fuzzing of the live REST API (schemathesis) through the real Envoy and gRPC
server, against the OpenAPI document generated from the protos.

Each operation is one test: requests are generated from the document (valid ones, and invalid
ones for the same operation), sent with a real token of a role the policy table allows, and
every answer must be no 5xx, carry a documented status and content type, and match the
documented schema. Generation is derandomized, so a run is reproducible; the number of
examples is bounded (HOTGIGS_FUZZ_EXAMPLES, default 12 per mode and operation).
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import hypothesis
import pytest
import requests
import requests.adapters
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck
from prometheus_client import REGISTRY
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hotgigs import runtime
from hotgigs.db import Database
from hotgigs.models import User
from hotgigs.security import policy
from http_bridge import openapi
from tests.support.rest import STRONG_PASSWORD, bearer, register, unique_email
from tests.support.servers import RunningEnvoy

# The fuzzer's requests come from their own loopback address, so the many anonymous and auth
# requests do not count against 127.0.0.1 in the rate-limit windows (Redis is shared) of later
# tests that run with the real limits.
CLIENT_ADDRESS = "127.0.0.2"
EXAMPLES = int(os.environ.get("HOTGIGS_FUZZ_EXAMPLES", "12"))
DOCUMENT = openapi.generate(runtime.descriptor_path())
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Server-Sent Events never end: a generated request would wait for the stream's close.
# tests/notifications covers the feed.
NOT_FUZZED = {"NotificationService_StreamNotifications"}
# Calls that may end the caller's session: each gets an account of its own.
ENDS_SESSIONS = {"AuthService_Logout", "AuthService_ChangePassword", "PrivacyService_EraseMyData"}
# Calls that erase the user their path names: each generated id that is a number becomes a new
# throwaway user's, so fuzzing never erases the accounts of this or another test.
ERASES_PATH_USER = {"PrivacyService_EraseUserData"}


def _operations() -> list[tuple[str, str]]:
    found = []
    for verbs in DOCUMENT["paths"].values():
        for operation in verbs.values():
            if operation["operationId"] not in NOT_FUZZED:
                found.append((operation["operationId"], operation["x-grpc-method"]))
    return sorted(found)


def server_errors(method: str) -> float:
    """RPCs of `method` the in-process server ended with INTERNAL or UNKNOWN (bugs), also those
    whose REST answer did not show it (a stream the caller had already left)."""
    service, name = method.strip("/").split("/")
    return sum(sample.value for family in REGISTRY.collect() if family.name == "grpc_server_handled"
               for sample in family.samples
               if sample.name == "grpc_server_handled_total"
               and sample.labels.get("grpc_service") == service
               and sample.labels.get("grpc_method") == name
               and sample.labels.get("grpc_code") in ("INTERNAL", "UNKNOWN"))


def role_for(method: str) -> str | None:
    """The role whose token a fuzzed call carries: none for public RPCs, else one the policy
    allows (admin only when nothing else is)."""
    rule = policy.policy_for(method)
    assert rule is not None, method
    if rule.public:
        return None
    if rule.roles is None:
        return policy.CANDIDATE
    return next(role for role in (policy.COMPANY, policy.CANDIDATE, policy.RECRUITER, policy.ADMIN)
                if role in rule.roles or role == policy.ADMIN)


def make_admin(rest: httpx.Client, database: Database) -> dict[str, Any]:
    account = register(rest, "company")
    with database.session_scope() as session:
        session.execute(sa.update(User).where(User.id == account["user"]["id"]).values(user_type="admin"))
    answer = rest.post("/api/auth/login", json={"email": account["user"]["email"],
                                                "password": STRONG_PASSWORD})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def created(answer: httpx.Response, key: str) -> int:
    assert answer.status_code in (200, 201), answer.text
    value: int = answer.json()[key]["id"]
    return value


JOB = {"title": "Fuzz Engineer", "requirements": "Python, PostgreSQL and patience",
       "description": "Breaks things on purpose, carefully, with property-based tests. " * 2,
       "location": "Berlin", "employment_type": "full-time", "experience_level": "mid",
       "skills_required": ["python", "postgresql"], "salary_min": 50000, "salary_max": 70000}
RESUME = "Python developer, 5 years of Django and PostgreSQL, Kubernetes, Berlin."


@dataclasses.dataclass
class World:
    """Users of every role and some data of theirs, so that the known-good requests succeed
    and generated ids sometimes hit real records."""

    rest: httpx.Client
    accounts: dict[str, dict[str, Any]]
    company_id: int
    job_id: int
    application_id: int
    document_id: int

    def user_id(self, role: str) -> int:
        value: int = self.accounts[role]["user"]["id"]
        return value

    def as_(self, role: str) -> dict[str, str]:
        return bearer(self.accounts[role])

    def new_job(self) -> int:
        return created(self.rest.post("/api/jobs", headers=self.as_(policy.COMPANY),
                                      json={**JOB, "company_id": self.company_id}), "job")

    def new_active_job(self) -> int:
        job_id = self.new_job()
        published = self.rest.post(f"/api/jobs/{job_id}/publish", headers=self.as_(policy.COMPANY),
                                   json={})
        assert published.status_code == 200, published.text
        return job_id

    def new_application(self) -> int:
        return created(self.rest.post("/api/applications", headers=self.as_(policy.CANDIDATE),
                                      json={"job_id": self.new_active_job()}), "application")

    def invite(self, company_id: int, inviter: str, **who: Any) -> None:
        answer = self.rest.post(f"/api/companies/{company_id}/members", headers=self.as_(inviter),
                                json={**who, "role": "recruiter"})
        assert answer.status_code == 202, answer.text

    def recruiter_joins(self) -> int:
        """The recruiter accepts an invitation to the company; its user id."""
        self.invite(self.company_id, policy.COMPANY, user_id=self.user_id(policy.RECRUITER))
        joined = self.rest.post(f"/api/companies/{self.company_id}/invitations/accept",
                                headers=self.as_(policy.RECRUITER), json={})
        assert joined.status_code == 200, joined.text
        return self.user_id(policy.RECRUITER)

    def new_invitation(self) -> int:
        """A pending invitation of the company (to an address without an account)."""
        self.invite(self.company_id, policy.COMPANY, email=unique_email())
        listed = self.rest.get(f"/api/companies/{self.company_id}/invitations",
                               headers=self.as_(policy.COMPANY))
        assert listed.status_code == 200, listed.text
        value: int = listed.json()["invitations"][0]["id"]
        return value

    def company_inviting_the_company_user(self) -> int:
        """A company of the recruiter that invited the company user; its id."""
        other = created(self.rest.post("/api/companies", headers=self.as_(policy.RECRUITER),
                                       json={"name": "Fuzz Invites"}), "company")
        self.invite(other, policy.RECRUITER, email=self.accounts[policy.COMPANY]["user"]["email"])
        return other

    def new_document(self) -> int:
        return created(self.rest.post("/api/documents", headers=self.as_(policy.CANDIDATE),
                                      json=DOCUMENT_BODY), "document")

    def new_notification(self) -> int:
        return created(self.rest.post("/api/notifications", headers=self.as_(policy.ADMIN), json={
            "recipient_id": self.user_id(policy.CANDIDATE), "title": "Fuzz",
            "message": "A notification to find", "notification_type": "info"}), "notification")

    def new_experience(self) -> int:
        return created(self.rest.post("/api/users/experience", headers=self.as_(policy.CANDIDATE),
                                      json=EXPERIENCE), "experience")

    def new_education(self) -> int:
        return created(self.rest.post("/api/users/education", headers=self.as_(policy.CANDIDATE),
                                      json=EDUCATION), "education")


DOCUMENT_BODY = {"document_type": "resume", "title": "My CV", "filename": "cv.txt",
                 "content_type": "text/plain", "content": base64.b64encode(RESUME.encode()).decode()}
EXPERIENCE = {"company_name": "Initech", "job_title": "Engineer", "start_date": "2019-03-01",
              "end_date": "2022-06-30", "achievements": ["Shipped TPS v2"], "skills_used": ["python"]}
EDUCATION = {"institution_name": "MIT", "degree": "BSc", "start_date": "2010-09-01",
             "end_date": "2014-06-30", "gpa": 3.7}


@pytest.fixture(scope="module")
def world(envoy: RunningEnvoy, database: Database) -> Iterator[World]:
    transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS)
    with httpx.Client(base_url=envoy.base_url, timeout=10, transport=transport) as rest:
        accounts = {role: register(rest, role) for role in (policy.CANDIDATE, policy.COMPANY,
                                                            policy.RECRUITER)}
        accounts[policy.ADMIN] = make_admin(rest, database)
        company = rest.post("/api/companies", headers=bearer(accounts[policy.COMPANY]),
                            json={"name": "Fuzz Corp", "industry": "Software"})
        world = World(rest, accounts, created(company, "company"), 0, 0, 0)
        world.job_id = world.new_active_job()
        world.application_id = world.new_application()
        world.document_id = world.new_document()
        profile = rest.put("/api/users/candidate-profile", headers=world.as_(policy.CANDIDATE),
                           json={"headline": "Python developer", "skills": ["python", "django"]})
        assert profile.status_code == 200, profile.text
        yield world


def _fresh_account(world: World, role: str) -> dict[str, Any]:
    return register(world.rest, role)


# Valid requests per operation (Case arguments), tried first: the generated ones are mostly
# refused by validation, these reach the success path and its response schema. Evaluated when
# the operation's test starts, so they may create what they need.
KNOWN_GOOD: dict[str, Callable[[World], dict[str, Any]]] = {
    "AiService_AnalyzeResume": lambda w: {"body": {"resume_text": RESUME, "target_job_id": w.job_id}},
    "AiService_MatchCandidates": lambda w: {"body": {"job_id": w.job_id}},
    "AiService_MatchJobs": lambda w: {"body": {"skills": ["python"], "location": "Berlin"}},
    "AnalyticsService_GetMetrics": lambda w: {"query": {"days": 30}},
    "ApplicationService_CreateApplication": lambda w: {"body": {"job_id": w.new_active_job(),
                                                                "cover_letter": "Hire me"}},
    "ApplicationService_GetApplication": lambda w: {"path_parameters": {"id": w.new_application()}},
    "ApplicationService_ListApplicationsByJob": lambda w: {"path_parameters": {"job_id": w.job_id}},
    "ApplicationService_UpdateApplication": lambda w: {
        "path_parameters": {"id": w.new_application()}, "body": {"status": "screening"}},
    "ApplicationService_WithdrawApplication": lambda w: {"path_parameters": {"id": w.new_application()}},
    "AuthService_ChangePassword": lambda w: {"body": {"current_password": STRONG_PASSWORD,
                                                      "new_password": "N3w!Fuzz#Pass9x"}},
    "AuthService_ForgotPassword": lambda w: {"body": {
        "email": w.accounts[policy.CANDIDATE]["user"]["email"]}},
    "AuthService_Login": lambda w: {"body": {
        "email": w.accounts[policy.CANDIDATE]["user"]["email"], "password": STRONG_PASSWORD}},
    "AuthService_RefreshToken": lambda w: {"body": {
        "refresh_token": _fresh_account(w, policy.CANDIDATE)["refresh_token"]}},
    "AuthService_Register": lambda w: {"body": {
        "email": unique_email(), "password": STRONG_PASSWORD, "first_name": "Fuzz",
        "last_name": "Tester", "user_type": "candidate"}},
    "CandidateService_GetCandidate": lambda w: {"path_parameters": {"id": w.user_id(policy.CANDIDATE)}},
    "CandidateService_SearchCandidates": lambda w: {"query": {"skills": ["python"]}},
    "CandidateService_UpdateMyCandidateProfile": lambda w: {"body": {"headline": "Fuzz expert",
                                                                     "skills": ["python"]}},
    "CompanyService_AcceptCompanyInvitation": lambda w: {
        "path_parameters": {"id": w.company_inviting_the_company_user()}, "body": {}},
    "CompanyService_AddCompanyMember": lambda w: {
        "path_parameters": {"id": w.company_id},
        "body": {"user_id": w.user_id(policy.RECRUITER), "role": "recruiter"}},
    "CompanyService_DeleteCompanyInvitation": lambda w: {"path_parameters": {
        "company_id": w.company_id, "invitation_id": w.new_invitation()}},
    "CompanyService_ListCompanyInvitations": lambda w: {"path_parameters": {"id": w.company_id}},
    "CompanyService_CreateCompany": lambda w: {"body": {"name": "Fuzz Two", "industry": "Software"}},
    "CompanyService_GetCompany": lambda w: {"path_parameters": {"id": w.company_id}},
    "CompanyService_ListCompanyMembers": lambda w: {"path_parameters": {"id": w.company_id}},
    "CompanyService_RemoveCompanyMember": lambda w: {"path_parameters": {
        "company_id": w.company_id, "user_id": w.recruiter_joins()}},
    "CompanyService_UpdateCompany": lambda w: {"path_parameters": {"id": w.company_id},
                                               "body": {"industry": "Security"}},
    "DocumentService_DeleteDocument": lambda w: {"path_parameters": {"id": w.new_document()}},
    "DocumentService_DownloadDocument": lambda w: {"path_parameters": {"id": w.new_document()}},
    "DocumentService_GetDocument": lambda w: {"path_parameters": {"id": w.new_document()}},
    "DocumentService_UploadDocument": lambda w: {"body": DOCUMENT_BODY},
    "DocumentService_UploadDocumentRaw": lambda w: {
        "query": {"filename": "cv.txt", "document_type": "resume"}, "body": RESUME.encode(),
        "media_type": "text/plain"},
    "DocumentService_UploadDocumentStream": lambda w: {"body": [
        {"metadata": {k: v for k, v in DOCUMENT_BODY.items() if k != "content"}},
        {"chunk": DOCUMENT_BODY["content"]}]},
    "JobService_CreateJob": lambda w: {"body": {**JOB, "company_id": w.company_id}},
    "JobService_DeleteJob": lambda w: {"path_parameters": {"id": w.new_job()}},
    "JobService_GetJob": lambda w: {"path_parameters": {"id": w.new_active_job()}},
    "JobService_ListJobApplications": lambda w: {"path_parameters": {"id": w.job_id}},
    "JobService_PauseJob": lambda w: {"path_parameters": {"id": w.new_active_job()}, "body": {}},
    "JobService_PublishJob": lambda w: {"path_parameters": {"id": w.new_job()}, "body": {}},
    "JobService_SearchJobs": lambda w: {"query": {"search": "fuzz engineer", "include_facets": True,
                                                  "skills": ["python"], "remote_only": False}},
    "JobService_UpdateJob": lambda w: {"path_parameters": {"id": w.new_job()},
                                       "body": {"title": "Senior Fuzz Engineer"}},
    "NotificationService_CreateNotification": lambda w: {"body": {
        "recipient_id": w.user_id(policy.CANDIDATE), "title": "Maintenance",
        "message": "Down for 5 minutes", "notification_type": "warning", "priority": "high"}},
    "NotificationService_DeleteNotification": lambda w: {"path_parameters": {"id": w.new_notification()}},
    "NotificationService_GetNotification": lambda w: {"path_parameters": {"id": w.new_notification()}},
    "NotificationService_UpdateNotification": lambda w: {
        "path_parameters": {"id": w.new_notification()}, "body": {"is_read": True}},
    "NotificationService_UpdateNotificationPreferences": lambda w: {"body": {
        "email_notifications": False, "frequency": "daily"}},
    "PrivacyService_EraseMyData": lambda w: {"body": {"password": STRONG_PASSWORD}},
    "PrivacyService_EraseUserData": lambda w: {"path_parameters": {"user_id": 1}, "body": {}},
    "PrivacyService_ExportUserData": lambda w: {"path_parameters": {
        "user_id": w.user_id(policy.CANDIDATE)}},
    "UserService_AddEducation": lambda w: {"body": EDUCATION},
    "UserService_AddExperience": lambda w: {"body": EXPERIENCE},
    "UserService_DeleteEducation": lambda w: {"path_parameters": {"id": w.new_education()}},
    "UserService_DeleteExperience": lambda w: {"path_parameters": {"id": w.new_experience()}},
    "UserService_GetUser": lambda w: {"path_parameters": {"id": w.user_id(policy.COMPANY)}},
    "UserService_SearchUsers": lambda w: {"query": {"q": "Test"}},
    "UserService_UpdateCandidateProfile": lambda w: {"body": {"headline": "Fuzzing", "skills": ["go"]}},
    "UserService_UpdateEducation": lambda w: {"path_parameters": {"id": w.new_education()},
                                              "body": {"degree": "MSc"}},
    "UserService_UpdateExperience": lambda w: {"path_parameters": {"id": w.new_experience()},
                                               "body": {"job_title": "Lead"}},
    "UserService_UpdateProfile": lambda w: {"body": {"first_name": "Fuzzy", "location": "Berlin"}},
}


class _FromAddress(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs, source_address=(CLIENT_ADDRESS, 0))


@pytest.fixture(scope="module")
def http_session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.mount("http://", _FromAddress())
        yield session


@pytest.mark.slow
# schemathesis' negative generation draws from `random` inside a strategy for some schemas;
# Hypothesis deprecates that, and the warning is not about this project's code.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize(("operation_id", "method"), _operations(), ids=[o for o, _ in _operations()])
def test_operation_survives_fuzzing(operation_id: str, method: str, envoy: RunningEnvoy,
                                    world: World, http_session: requests.Session) -> None:
    operation = SCHEMA.find_operation_by_id(operation_id)
    role = role_for(method)
    headers: dict[str, str] = {}
    if role is not None:
        account = world.accounts[role]
        if operation_id in ENDS_SESSIONS:
            account = _fresh_account(world, role)
        headers = bearer(account)
    strategy = (operation.as_strategy(GenerationMode.POSITIVE)
                | operation.as_strategy(GenerationMode.NEGATIVE))
    known_good = KNOWN_GOOD.get(operation_id)
    examples = [] if known_good is None else [operation.Case(**known_good(world))]

    @hypothesis.settings(max_examples=EXAMPLES * 2, derandomize=True, database=None, deadline=None,
                         suppress_health_check=list(HealthCheck), print_blob=False,
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate,
                                 hypothesis.Phase.shrink])
    @hypothesis.given(case=strategy)
    def fuzz(case: schemathesis.Case) -> None:
        if operation_id in ERASES_PATH_USER and isinstance(
                (case.path_parameters or {}).get("user_id"), int):
            case.path_parameters = {**(case.path_parameters or {}),
                                    "user_id": _fresh_account(world, policy.CANDIDATE)["user"]["id"]}
        response = case.call(base_url=envoy.base_url, session=http_session, headers=headers,
                             timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)
        if examples and case is examples[0]:
            assert response.status_code < 300, f"known-good request refused: {response.text}"

    for case in examples:
        fuzz = hypothesis.example(case=case)(fuzz)
    errors_before = server_errors(method)
    fuzz()
    assert server_errors(method) == errors_before, "the server counted INTERNAL errors (see the log)"
