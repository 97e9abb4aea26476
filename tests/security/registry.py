"""Which hostile-input cases cover each RPC (and its REST route).

Every RPC of the API must be listed here with the kinds of hostile input its request can carry;
`test_route_coverage.py` walks the descriptor set and fails for an RPC that is missing or lacks
a kind its request shape calls for, and `test_hostile_input.py` runs every listed case. So a new
route cannot skip the hostile-input tests: add it here (the shape tells which kinds it needs).

Kinds:
  HEADERS   oversized request headers through Envoy: 431 JSON (every route)
  BODY      a body over the route's limit through Envoy: 413 JSON (every route with a body)
  UTF8      invalid UTF-8 in a string field: 400 UNDECODABLE_REQUEST over REST and gRPC
  LIST      a 20,000-item list in a repeated string field: refused before any per-item work
  DOCUMENT  an XML bomb in an uploaded document: 400 DOCUMENT_TOO_COMPLEX, worker memory flat
"""

from __future__ import annotations

HEADERS = "oversized_headers"
BODY = "oversized_body"
UTF8 = "invalid_utf8"
LIST = "quadratic_list"
DOCUMENT = "xml_bomb"
KINDS = frozenset({HEADERS, BODY, UTF8, LIST, DOCUMENT})

CASES: dict[str, frozenset[str]] = {
    # HealthService
    "/hotgigs.v1.HealthService/GetHealth": frozenset({HEADERS}),
    # AuthService
    "/hotgigs.v1.AuthService/Register": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.AuthService/Login": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.AuthService/RefreshToken": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.AuthService/Logout": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.AuthService/GetCurrentUser": frozenset({HEADERS}),
    "/hotgigs.v1.AuthService/ChangePassword": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.AuthService/ForgotPassword": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.AuthService/VerifyEmail": frozenset({HEADERS, UTF8}),
    "/hotgigs.v1.AuthService/ResetPassword": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.AuthService/OAuthLogin": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.AuthService/ListIdentities": frozenset({HEADERS}),
    "/hotgigs.v1.AuthService/UnlinkIdentity": frozenset({HEADERS}),
    # UserService
    "/hotgigs.v1.UserService/GetProfile": frozenset({HEADERS}),
    "/hotgigs.v1.UserService/UpdateProfile": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.UserService/UpdateCandidateProfile": frozenset({HEADERS, BODY, UTF8, LIST}),
    "/hotgigs.v1.UserService/AddExperience": frozenset({HEADERS, BODY, UTF8, LIST}),
    "/hotgigs.v1.UserService/UpdateExperience": frozenset({HEADERS, BODY, UTF8, LIST}),
    "/hotgigs.v1.UserService/DeleteExperience": frozenset({HEADERS}),
    "/hotgigs.v1.UserService/AddEducation": frozenset({HEADERS, BODY, UTF8, LIST}),
    "/hotgigs.v1.UserService/UpdateEducation": frozenset({HEADERS, BODY, UTF8, LIST}),
    "/hotgigs.v1.UserService/DeleteEducation": frozenset({HEADERS}),
    "/hotgigs.v1.UserService/SearchUsers": frozenset({HEADERS, UTF8}),
    "/hotgigs.v1.UserService/GetUser": frozenset({HEADERS}),
    # CompanyService
    "/hotgigs.v1.CompanyService/CreateCompany": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.CompanyService/ListCompanies": frozenset({HEADERS}),
    "/hotgigs.v1.CompanyService/GetCompany": frozenset({HEADERS}),
    "/hotgigs.v1.CompanyService/ListCompanyMembers": frozenset({HEADERS}),
    "/hotgigs.v1.CompanyService/UpdateCompany": frozenset({HEADERS, BODY, UTF8, LIST}),
    "/hotgigs.v1.CompanyService/AddCompanyMember": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.CompanyService/RemoveCompanyMember": frozenset({HEADERS}),
    "/hotgigs.v1.CompanyService/ListCompanyInvitations": frozenset({HEADERS}),
    "/hotgigs.v1.CompanyService/DeleteCompanyInvitation": frozenset({HEADERS}),
    "/hotgigs.v1.CompanyService/ListMyInvitations": frozenset({HEADERS}),
    "/hotgigs.v1.CompanyService/AcceptCompanyInvitation": frozenset({HEADERS, BODY}),
    # JobService
    "/hotgigs.v1.JobService/SearchJobs": frozenset({HEADERS, UTF8, LIST}),
    "/hotgigs.v1.JobService/GetJob": frozenset({HEADERS}),
    "/hotgigs.v1.JobService/CreateJob": frozenset({HEADERS, BODY, UTF8, LIST}),
    "/hotgigs.v1.JobService/UpdateJob": frozenset({HEADERS, BODY, UTF8, LIST}),
    "/hotgigs.v1.JobService/DeleteJob": frozenset({HEADERS}),
    "/hotgigs.v1.JobService/ListJobApplications": frozenset({HEADERS, UTF8}),
    "/hotgigs.v1.JobService/GetJobStats": frozenset({HEADERS}),
    "/hotgigs.v1.JobService/PublishJob": frozenset({HEADERS, BODY}),
    "/hotgigs.v1.JobService/PauseJob": frozenset({HEADERS, BODY}),
    # ApplicationService
    "/hotgigs.v1.ApplicationService/CreateApplication": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.ApplicationService/ListApplications": frozenset({HEADERS, UTF8}),
    "/hotgigs.v1.ApplicationService/GetApplication": frozenset({HEADERS}),
    "/hotgigs.v1.ApplicationService/UpdateApplication": frozenset({HEADERS, BODY, UTF8, LIST}),
    "/hotgigs.v1.ApplicationService/WithdrawApplication": frozenset({HEADERS, UTF8}),
    "/hotgigs.v1.ApplicationService/ListApplicationsByJob": frozenset({HEADERS, UTF8}),
    "/hotgigs.v1.ApplicationService/GetApplicationStats": frozenset({HEADERS}),
    # DocumentService
    "/hotgigs.v1.DocumentService/ListDocuments": frozenset({HEADERS, UTF8}),
    "/hotgigs.v1.DocumentService/UploadDocument": frozenset({HEADERS, BODY, UTF8, DOCUMENT}),
    "/hotgigs.v1.DocumentService/GetDocument": frozenset({HEADERS}),
    "/hotgigs.v1.DocumentService/DeleteDocument": frozenset({HEADERS}),
    "/hotgigs.v1.DocumentService/ListDocumentTypes": frozenset({HEADERS}),
    "/hotgigs.v1.DocumentService/DownloadDocument": frozenset({HEADERS}),
    "/hotgigs.v1.DocumentService/UploadDocumentRaw": frozenset({HEADERS, BODY, UTF8, DOCUMENT}),
    "/hotgigs.v1.DocumentService/UploadDocumentStream": frozenset({HEADERS, BODY, UTF8, DOCUMENT}),
    # AnalyticsService
    "/hotgigs.v1.AnalyticsService/GetDashboard": frozenset({HEADERS}),
    "/hotgigs.v1.AnalyticsService/GetMetrics": frozenset({HEADERS}),
    "/hotgigs.v1.AnalyticsService/ListReports": frozenset({HEADERS}),
    # AiService
    "/hotgigs.v1.AiService/MatchJobs": frozenset({HEADERS, BODY, UTF8, LIST}),
    "/hotgigs.v1.AiService/AnalyzeResume": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.AiService/GetJobRecommendations": frozenset({HEADERS}),
    "/hotgigs.v1.AiService/GetAiHealth": frozenset({HEADERS}),
    # per-module health (issue 20): no parameters
    "/hotgigs.v1.AnalyticsService/GetAnalyticsHealth": frozenset({HEADERS}),
    "/hotgigs.v1.CandidateService/GetCandidatesHealth": frozenset({HEADERS}),
    "/hotgigs.v1.DocumentService/GetDocumentsHealth": frozenset({HEADERS}),
    "/hotgigs.v1.JobService/GetJobsHealth": frozenset({HEADERS}),
    "/hotgigs.v1.NotificationService/GetNotificationsHealth": frozenset({HEADERS}),
    # OperationsService (issue 20): admin only
    "/hotgigs.v1.OperationsService/GetPerformance": frozenset({HEADERS}),
    "/hotgigs.v1.OperationsService/GetJobsPerformance": frozenset({HEADERS}),
    "/hotgigs.v1.OperationsService/ClearCache": frozenset({HEADERS, BODY}),
    "/hotgigs.v1.OperationsService/RefreshMaterializedViews": frozenset({HEADERS, BODY}),
    "/hotgigs.v1.AiService/MatchCandidates": frozenset({HEADERS, BODY}),
    "/hotgigs.v1.AiService/ListAiFeedback": frozenset({HEADERS}),
    # CandidateService
    "/hotgigs.v1.CandidateService/SearchCandidates": frozenset({HEADERS, UTF8, LIST}),
    "/hotgigs.v1.CandidateService/GetCandidate": frozenset({HEADERS}),
    "/hotgigs.v1.CandidateService/GetMyCandidateProfile": frozenset({HEADERS}),
    "/hotgigs.v1.CandidateService/UpdateMyCandidateProfile": frozenset({HEADERS, BODY, UTF8, LIST}),
    "/hotgigs.v1.CandidateService/GetCandidateStats": frozenset({HEADERS}),
    # NotificationService
    "/hotgigs.v1.NotificationService/ListNotifications": frozenset({HEADERS, UTF8}),
    "/hotgigs.v1.NotificationService/CreateNotification": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.NotificationService/GetNotification": frozenset({HEADERS}),
    "/hotgigs.v1.NotificationService/UpdateNotification": frozenset({HEADERS, BODY}),
    "/hotgigs.v1.NotificationService/DeleteNotification": frozenset({HEADERS}),
    "/hotgigs.v1.NotificationService/MarkAllNotificationsRead": frozenset({HEADERS, BODY}),
    "/hotgigs.v1.NotificationService/ClearAllNotifications": frozenset({HEADERS}),
    "/hotgigs.v1.NotificationService/GetNotificationPreferences": frozenset({HEADERS}),
    "/hotgigs.v1.NotificationService/UpdateNotificationPreferences": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.NotificationService/ListNotificationTypes": frozenset({HEADERS}),
    "/hotgigs.v1.NotificationService/GetNotificationStats": frozenset({HEADERS}),
    "/hotgigs.v1.NotificationService/StreamNotifications": frozenset({HEADERS, UTF8}),
    "/hotgigs.v1.NotificationService/CreateStreamTicket": frozenset({HEADERS, BODY}),
    # ServiceAccountService
    "/hotgigs.v1.ServiceAccountService/CreateServiceAccount": frozenset({HEADERS, BODY, UTF8, LIST}),
    "/hotgigs.v1.ServiceAccountService/ListServiceAccounts": frozenset({HEADERS}),
    "/hotgigs.v1.ServiceAccountService/RotateServiceAccountKey": frozenset({HEADERS, BODY}),
    "/hotgigs.v1.ServiceAccountService/RevokeServiceAccountKey": frozenset({HEADERS}),
    # AuditService
    "/hotgigs.v1.AuditService/ListAuditEntries": frozenset({HEADERS, UTF8}),
    # PrivacyService
    "/hotgigs.v1.PrivacyService/ExportMyData": frozenset({HEADERS}),
    "/hotgigs.v1.PrivacyService/ExportUserData": frozenset({HEADERS}),
    "/hotgigs.v1.PrivacyService/EraseMyData": frozenset({HEADERS, BODY, UTF8}),
    "/hotgigs.v1.PrivacyService/EraseUserData": frozenset({HEADERS, BODY}),
}


def covers(rpc: str, kind: str) -> bool:
    """True when the hostile-input tests run a `kind` case against `rpc` (/pkg.Service/Method)."""
    return kind in CASES.get(rpc, frozenset())


def rpcs_with(kind: str) -> list[str]:
    return sorted(rpc for rpc, kinds in CASES.items() if kind in kinds)
