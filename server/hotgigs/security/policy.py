"""Who may call each RPC: the ONE policy table, read by the auth interceptor. Default deny.

Kinds of policy:
  PUBLIC       anyone, no token needed (a token, when sent, is still verified)
  SIGNED_IN    any valid access token
  roles(...)   a valid access token whose role is one of those named (admin passes everywhere
               a role list applies)
`scope` documents the resource-level rule the module's service enforces on top (owner of the
record, member of the company); the interceptor checks only the caller's identity and role.
`rate` picks the rate-limit class: default (per user, or per address when anonymous), auth
(tighter, per client address) or exempt.
A test walks the descriptor set and fails when an RPC has no entry here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final

CANDIDATE, COMPANY, RECRUITER, ADMIN = "candidate", "company", "recruiter", "admin"
ROLES: Final = (CANDIDATE, COMPANY, RECRUITER, ADMIN)
ROLE_ALIASES: Final = {"freelance_recruiter": RECRUITER}
SELF_REGISTERABLE_ROLES: Final = (CANDIDATE, COMPANY, RECRUITER)


@dataclasses.dataclass(frozen=True)
class Policy:
    """The access rule of one RPC."""

    public: bool = False
    roles: frozenset[str] | None = None  # None: any signed-in user
    scope: str = ""
    rate: str = "default"
    bearer: str = "access"  # the kind of token the Authorization header carries

    def allows_role(self, role: str) -> bool:
        return self.roles is None or role in self.roles or role == ADMIN


PUBLIC: Final = Policy(public=True)
SIGNED_IN: Final = Policy()
AUTH_FLOW: Final = Policy(public=True, rate="auth")
PROBE: Final = Policy(public=True, rate="exempt")


def roles(*names: str, scope: str = "") -> Policy:
    unknown = set(names) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return Policy(roles=frozenset(names), scope=scope)


def signed_in(scope: str) -> Policy:
    return Policy(scope=scope)


HIRING = (COMPANY, RECRUITER)

_TABLE: dict[str, dict[str, Policy]] = {
    "HealthService": {"GetHealth": PROBE},
    "AuthService": {
        "Register": AUTH_FLOW,
        "Login": AUTH_FLOW,
        # The original API sends the refresh token as the bearer token here.
        "RefreshToken": Policy(public=True, rate="auth", bearer="refresh"),
        "Logout": SIGNED_IN,
        "GetCurrentUser": SIGNED_IN,
        "ChangePassword": SIGNED_IN,
        "ForgotPassword": AUTH_FLOW,
        "VerifyEmail": AUTH_FLOW,
        "ResetPassword": AUTH_FLOW,
    },
    "UserService": {
        "GetProfile": signed_in("own account"),
        "UpdateProfile": signed_in("own account"),
        "UpdateCandidateProfile": roles(CANDIDATE, scope="own profile"),
        "AddExperience": roles(CANDIDATE, scope="own profile"),
        "UpdateExperience": roles(CANDIDATE, scope="owner of the entry"),
        "DeleteExperience": roles(CANDIDATE, scope="owner of the entry"),
        "AddEducation": roles(CANDIDATE, scope="own profile"),
        "UpdateEducation": roles(CANDIDATE, scope="owner of the entry"),
        "DeleteEducation": roles(CANDIDATE, scope="owner of the entry"),
        "SearchUsers": SIGNED_IN,
        "GetUser": PUBLIC,
    },
    "CompanyService": {
        "CreateCompany": roles(*HIRING),
        "ListCompanies": roles(*HIRING, scope="companies the caller is a member of"),
        "GetCompany": roles(*HIRING, scope="company member"),
        "ListCompanyMembers": roles(*HIRING, scope="company member"),
        "UpdateCompany": roles(*HIRING, scope="company admin"),
        "AddCompanyMember": roles(*HIRING, scope="company admin"),
        "RemoveCompanyMember": roles(*HIRING, scope="company admin"),
        "ListCompanyInvitations": roles(*HIRING, scope="company admin"),
        "DeleteCompanyInvitation": roles(*HIRING, scope="company admin or the invited user"),
        "ListMyInvitations": roles(*HIRING),
        "AcceptCompanyInvitation": roles(*HIRING, scope="the invited user"),
    },
    "JobService": {
        "SearchJobs": PUBLIC,
        "GetJob": PUBLIC,
        "CreateJob": roles(*HIRING, scope="company member"),
        "UpdateJob": roles(*HIRING, scope="company member"),
        "DeleteJob": roles(*HIRING, scope="company member"),
        "ListJobApplications": roles(*HIRING, scope="company member"),
        "GetJobStats": PUBLIC,
        "PublishJob": roles(*HIRING, scope="company member"),
        "PauseJob": roles(*HIRING, scope="company member"),
    },
    "ApplicationService": {
        "CreateApplication": roles(CANDIDATE),
        "ListApplications": signed_in("own applications, or those to the caller's companies"),
        "GetApplication": signed_in("the candidate, or a member of the job's company"),
        "UpdateApplication": roles(*HIRING, scope="member of the job's company"),
        "WithdrawApplication": roles(CANDIDATE, scope="the candidate"),
        "ListApplicationsByJob": roles(*HIRING, scope="member of the job's company"),
        "GetApplicationStats": SIGNED_IN,
    },
    "DocumentService": {
        "ListDocuments": signed_in("own documents"),
        "UploadDocument": SIGNED_IN,
        "GetDocument": signed_in("owner, or member of a company the owner applied to"),
        "DeleteDocument": signed_in("owner"),
        "ListDocumentTypes": PUBLIC,
        "DownloadDocument": signed_in("owner, or member of a company the owner applied to"),
        "UploadDocumentRaw": SIGNED_IN,
        "UploadDocumentStream": SIGNED_IN,
    },
    "AnalyticsService": {
        "GetDashboard": signed_in("numbers of the caller's role"),
        "GetMetrics": signed_in("service performance for admins only"),
        "ListReports": SIGNED_IN,
    },
    "AiService": {
        "MatchJobs": SIGNED_IN,
        "AnalyzeResume": SIGNED_IN,
        "GetJobRecommendations": roles(CANDIDATE),
        "GetAiHealth": PUBLIC,
        "MatchCandidates": roles(*HIRING, scope="member of the job's company"),
    },
    "CandidateService": {
        "SearchCandidates": roles(*HIRING),
        "GetCandidate": roles(*HIRING, CANDIDATE, scope="public profiles, or the candidate"),
        "GetMyCandidateProfile": roles(CANDIDATE),
        "UpdateMyCandidateProfile": roles(CANDIDATE),
        "GetCandidateStats": roles(*HIRING),
    },
    "NotificationService": {
        "ListNotifications": signed_in("own notifications"),
        "CreateNotification": roles(ADMIN),
        "GetNotification": signed_in("recipient"),
        "UpdateNotification": signed_in("recipient"),
        "DeleteNotification": signed_in("recipient"),
        "MarkAllNotificationsRead": signed_in("own notifications"),
        "ClearAllNotifications": signed_in("own notifications"),
        "GetNotificationPreferences": signed_in("own preferences"),
        "UpdateNotificationPreferences": signed_in("own preferences"),
        "ListNotificationTypes": PUBLIC,
        "GetNotificationStats": signed_in("own notifications"),
        "StreamNotifications": signed_in("own notifications"),
    },
}

# Infrastructure services: open to load balancers and operators' tools.
INFRASTRUCTURE_PREFIXES: Final = ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/",
                                  "/grpc.reflection.v1.ServerReflection/")

POLICIES: Final[dict[str, Policy]] = {
    f"/hotgigs.v1.{service}/{method}": policy
    for service, methods in _TABLE.items()
    for method, policy in methods.items()
}


def policy_for(method: str, extra: Mapping[str, Policy] | None = None) -> Policy | None:
    """The policy of a full method name (`/package.Service/Method`); None means deny.
    `extra` adds policies for services outside the API (tests' probe services)."""
    found = POLICIES.get(method) or (extra or {}).get(method)
    if found is None and method.startswith(INFRASTRUCTURE_PREFIXES):
        return PROBE
    return found
