"""Cross-tenant access (issue 12): two candidates and two companies; every resource type of
one tenant, read or written by the other, is refused (403 or 404) and leaks nothing, over
REST through Envoy and, for the reads, over direct gRPC too."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest

from hotgigs.v1 import (
    applications_pb2,
    applications_pb2_grpc,
    candidates_pb2,
    candidates_pb2_grpc,
    companies_pb2,
    companies_pb2_grpc,
    documents_pb2,
    documents_pb2_grpc,
    notifications_pb2,
    notifications_pb2_grpc,
)
from tests import factories
from tests.security.accounts import job_payload
from tests.support.rest import bearer, register, upload
from tests.support.servers import RunningEnvoy

SECRET = "cross-tenant-secret-7f3a"
REFUSED = {403, 404}


@dataclasses.dataclass
class Tenants:
    """Candidate A applied to company X's job; candidate B to company Y's job."""

    rest: httpx.Client
    a: dict[str, Any]
    b: dict[str, Any]
    x: dict[str, Any]
    y: dict[str, Any]
    ids: dict[str, int]


def _json_id(answer: httpx.Response, key: str) -> int:
    assert answer.status_code in (200, 201), answer.text
    value: int = answer.json()[key]["id"]
    return value


def _job(rest: httpx.Client, owner: dict[str, Any], *, publish: bool) -> int:
    job_id = _json_id(rest.post("/api/jobs", headers=bearer(owner),
                                json=job_payload(owner["company_id"], title="Tenant job",
                                                 requirements="Python and PostgreSQL")), "job")
    if publish:
        assert rest.post(f"/api/jobs/{job_id}/publish", headers=bearer(owner),
                         json={}).status_code == 200
    return job_id


def _candidate(rest: httpx.Client, job_id: int, owner: dict[str, Any],
               ids: dict[str, int], name: str) -> dict[str, Any]:
    account = register(rest, "candidate")
    assert rest.put("/api/candidates/profile", headers=bearer(account),
                    json={"headline": "Engineer", "skills": ["python"]}).status_code == 200
    document = upload(rest, account, f"{SECRET} resume".encode(), "cv.txt", "text/plain")
    ids[f"{name}_document"] = _json_id(document, "document")
    ids[f"{name}_application"] = _json_id(rest.post("/api/applications", headers=bearer(account),
                                                    json={"job_id": job_id,
                                                          "cover_letter": SECRET,
                                                          "resume_document_id":
                                                              ids[f"{name}_document"]}),
                                          "application")
    moved = rest.put(f"/api/applications/{ids[f'{name}_application']}", headers=bearer(owner),
                     json={"status": "screening", "notes": SECRET})
    assert moved.status_code == 200, moved.text
    notes = rest.get("/api/notifications", headers=bearer(account)).json()["notifications"]
    ids[f"{name}_notification"] = notes[0]["id"]
    ids[f"{name}_experience"] = _json_id(rest.post(
        "/api/users/experience", headers=bearer(account),
        json={"company_name": "Initech", "job_title": "Engineer", "start_date": "2020-01-01"}),
        "experience")
    return account


@pytest.fixture(scope="module")
def tenants(envoy: RunningEnvoy) -> Iterator[Tenants]:
    with httpx.Client(base_url=envoy.base_url, timeout=10) as rest:
        x, y = factories.owner(rest, industry="Software"), factories.owner(rest, industry="Software")
        ids: dict[str, int] = {"x_company": x["company_id"], "y_company": y["company_id"]}
        for name, owner in (("x", x), ("y", y)):
            ids[f"{name}_job"] = _job(rest, owner, publish=True)
            ids[f"{name}_draft"] = _job(rest, owner, publish=False)
        a = _candidate(rest, ids["x_job"], x, ids, "a")
        b = _candidate(rest, ids["y_job"], y, ids, "b")
        yield Tenants(rest, a, b, x, y, ids)


# (who, method, path template, body): each is another tenant's resource.
ATTEMPTS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    # users: another candidate's history
    ("b", "PUT", "/api/users/experience/{a_experience}", {"job_title": "Hijacked"}),
    ("b", "DELETE", "/api/users/experience/{a_experience}", None),
    # companies and members
    ("y", "GET", "/api/companies/{x_company}", None),
    ("y", "PUT", "/api/companies/{x_company}", {"name": "Hijacked"}),
    ("y", "GET", "/api/companies/{x_company}/members", None),
    ("y", "POST", "/api/companies/{x_company}/members", {"email": "someone@example.com"}),
    ("y", "DELETE", "/api/companies/{x_company}/members/{x_owner}", None),
    ("y", "GET", "/api/companies/{x_company}/invitations", None),
    ("y", "POST", "/api/companies/{x_company}/invitations/accept", {}),
    # jobs
    ("y", "GET", "/api/jobs/{x_draft}", None),
    ("y", "PUT", "/api/jobs/{x_job}", {"title": "Hijacked"}),
    ("y", "DELETE", "/api/jobs/{x_job}", None),
    ("y", "POST", "/api/jobs/{x_draft}/publish", {}),
    ("y", "POST", "/api/jobs/{x_job}/pause", {}),
    ("y", "GET", "/api/jobs/{x_job}/applications", None),
    ("y", "GET", "/api/jobs/stats?company_id={x_company}", None),
    # applications
    ("b", "GET", "/api/applications/{a_application}", None),
    ("b", "DELETE", "/api/applications/{a_application}", None),
    ("b", "PUT", "/api/applications/{a_application}", {"status": "hired"}),
    ("y", "GET", "/api/applications/{a_application}", None),
    ("y", "PUT", "/api/applications/{a_application}", {"status": "rejected",
                                                        "rejection_reason": "x"}),
    ("y", "GET", "/api/applications/job/{x_job}", None),
    # documents
    ("b", "GET", "/api/documents/{a_document}", None),
    ("b", "GET", "/api/documents/{a_document}/download", None),
    ("b", "DELETE", "/api/documents/{a_document}", None),
    ("y", "GET", "/api/documents/{a_document}", None),
    ("y", "GET", "/api/documents/{a_document}/download", None),
    ("y", "DELETE", "/api/documents/{a_document}", None),
    # notifications
    ("b", "GET", "/api/notifications/{a_notification}", None),
    ("b", "PUT", "/api/notifications/{a_notification}", {"is_read": True}),
    ("b", "DELETE", "/api/notifications/{a_notification}", None),
    ("y", "GET", "/api/notifications/{a_notification}", None),
    # candidates and AI matching
    ("b", "GET", "/api/candidates/{a}", None),
    ("y", "POST", "/api/ai/match-candidates", {"job_id": "{x_job}"}),
]


def _fill(template: str, tenants: Tenants) -> str:
    values = {**tenants.ids, "a": tenants.a["user"]["id"], "x_owner": tenants.x["user"]["id"]}
    return template.format(**values)


@pytest.mark.parametrize(("who", "method", "path", "body"), ATTEMPTS,
                         ids=[f"{w}-{m}-{p}" for w, m, p, _ in ATTEMPTS])
def test_another_tenants_resource_is_refused(tenants: Tenants, who: str, method: str, path: str,
                                             body: dict[str, Any] | None) -> None:
    actor = getattr(tenants, who)
    payload = None if body is None else {
        k: int(_fill(v, tenants)) if isinstance(v, str) and v.startswith("{") else v
        for k, v in body.items()}
    answer = tenants.rest.request(method, _fill(path, tenants), headers=bearer(actor),
                                  json=payload)
    assert answer.status_code in REFUSED, answer.text
    assert SECRET not in answer.text


def test_the_owners_resources_are_untouched(tenants: Tenants) -> None:
    """The refused writes above changed nothing (the module's attempts ran first)."""
    rest, ids = tenants.rest, tenants.ids
    application = rest.get(f"/api/applications/{ids['a_application']}",
                           headers=bearer(tenants.x)).json()["application"]
    assert (application["status"], application["notes"]) == ("screening", SECRET)
    job = rest.get(f"/api/jobs/{ids['x_job']}").json()["job"]
    assert (job["status"], job["title"]) == ("active", "Tenant job")
    assert rest.get(f"/api/documents/{ids['a_document']}",
                    headers=bearer(tenants.a)).status_code == 200
    assert rest.get(f"/api/notifications/{ids['a_notification']}",
                    headers=bearer(tenants.a)).status_code == 200
    members = rest.get(f"/api/companies/{ids['x_company']}/members",
                       headers=bearer(tenants.x)).json()["members"]
    assert [m["user"]["id"] for m in members] == [tenants.x["user"]["id"]]


def test_lists_hold_only_the_callers_own(tenants: Tenants) -> None:
    rest, ids = tenants.rest, tenants.ids
    mine = rest.get("/api/applications", headers=bearer(tenants.b)).json()["applications"]
    assert [a["id"] for a in mine] == [ids["b_application"]]
    theirs = rest.get("/api/applications", headers=bearer(tenants.y)).json()["applications"]
    assert [a["id"] for a in theirs] == [ids["b_application"]]
    documents = rest.get("/api/documents", headers=bearer(tenants.b)).json()["documents"]
    assert [d["id"] for d in documents] == [ids["b_document"]]
    notes = rest.get("/api/notifications", headers=bearer(tenants.b)).json()["notifications"]
    assert ids["a_notification"] not in {n["id"] for n in notes}
    companies = rest.get("/api/companies", headers=bearer(tenants.y)).json()["companies"]
    assert [c["id"] for c in companies] == [ids["y_company"]]
    board = rest.get("/api/analytics/dashboard", headers=bearer(tenants.y)).json()["dashboard"]
    assert board["companies"] == 1 and sum(board["applications"].values()) == 1
    assert SECRET not in rest.get("/api/analytics/dashboard", headers=bearer(tenants.y)).text


def test_another_companys_view_of_a_candidate_holds_no_contact_or_files(
        tenants: Tenants) -> None:
    seen = tenants.rest.get(f"/api/candidates/{tenants.a['user']['id']}",
                            headers=bearer(tenants.y))
    assert seen.status_code == 200, seen.text
    assert seen.json()["candidate"]["email"] == ""
    assert seen.json()["candidate"]["documents"] == []
    assert SECRET not in seen.text


def _metadata(account: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {account['access_token']}"),)


def test_cross_tenant_reads_over_grpc_are_refused(tenants: Tenants,
                                                  grpc_channel: grpc.Channel) -> None:
    ids = tenants.ids
    calls = [
        (tenants.b, lambda: applications_pb2_grpc.ApplicationServiceStub(grpc_channel)
         .GetApplication, applications_pb2.GetApplicationRequest(id=ids["a_application"])),
        (tenants.y, lambda: applications_pb2_grpc.ApplicationServiceStub(grpc_channel)
         .UpdateApplication, applications_pb2.UpdateApplicationRequest(
             id=ids["a_application"], status="rejected", rejection_reason="x")),
        (tenants.b, lambda: documents_pb2_grpc.DocumentServiceStub(grpc_channel)
         .DownloadDocument, documents_pb2.DownloadDocumentRequest(id=ids["a_document"])),
        (tenants.y, lambda: documents_pb2_grpc.DocumentServiceStub(grpc_channel)
         .GetDocument, documents_pb2.GetDocumentRequest(id=ids["a_document"])),
        (tenants.b, lambda: notifications_pb2_grpc.NotificationServiceStub(grpc_channel)
         .GetNotification, notifications_pb2.GetNotificationRequest(id=ids["a_notification"])),
        (tenants.y, lambda: companies_pb2_grpc.CompanyServiceStub(grpc_channel)
         .ListCompanyMembers, companies_pb2.ListCompanyMembersRequest(id=ids["x_company"])),
        (tenants.b, lambda: candidates_pb2_grpc.CandidateServiceStub(grpc_channel)
         .GetCandidate, candidates_pb2.GetCandidateRequest(id=tenants.a["user"]["id"])),
    ]
    for actor, method, request in calls:
        with pytest.raises(grpc.RpcError) as refused:
            method()(request, metadata=_metadata(actor), timeout=10)
        assert refused.value.code() in (grpc.StatusCode.NOT_FOUND,
                                        grpc.StatusCode.PERMISSION_DENIED), request
        assert SECRET not in (refused.value.details() or "")
