"""The access policy table covers every RPC of the API; nothing is open by accident."""

from __future__ import annotations

from hotgigs.security import policy
from tests.support.api import api_rpcs


def test_every_rpc_has_a_policy() -> None:
    missing = [rpc for rpc in api_rpcs() if rpc not in policy.POLICIES]
    assert not missing, f"RPCs without an access policy (they would be denied): {missing}"


def test_no_policy_names_a_method_that_does_not_exist() -> None:
    stale = set(policy.POLICIES) - set(api_rpcs())
    assert not stale


def test_unknown_methods_are_denied() -> None:
    assert policy.policy_for("/hotgigs.v1.JobService/DropAllTables") is None
    assert policy.policy_for("/other.Service/Method") is None


def test_infrastructure_services_are_open() -> None:
    found = policy.policy_for("/grpc.health.v1.Health/Check")
    assert found is not None
    assert found.public


def test_admin_passes_every_role_list_and_others_only_theirs() -> None:
    create_company = policy.POLICIES["/hotgigs.v1.CompanyService/CreateCompany"]
    assert create_company.allows_role("admin")
    assert create_company.allows_role("company")
    assert not create_company.allows_role("candidate")


def test_only_intended_rpcs_are_public() -> None:
    public = sorted(rpc.split("/")[-1] for rpc, rule in policy.POLICIES.items() if rule.public)
    assert public == sorted([
        "GetHealth", "Register", "Login", "RefreshToken", "ForgotPassword", "VerifyEmail",
        "ResetPassword", "GetUser", "SearchJobs", "GetJob", "GetJobStats", "ListDocumentTypes",
        "GetAiHealth", "ListNotificationTypes",
        # per-module health (issue 20), from the grpc.health.v1 statuses
        "GetAnalyticsHealth", "GetCandidatesHealth", "GetDocumentsHealth", "GetJobsHealth",
        "GetNotificationsHealth",
        # open to a one-time ticket instead of a token (EventSource); the servicer refuses a
        # call with neither (tests/notifications/test_stream_auth.py, test_stream_ticket.py)
        "StreamNotifications",
        # sign-in with an identity provider, like Login (a bearer token links instead)
        "OAuthLogin"])


def test_operations_are_for_admins_only() -> None:
    """Performance figures and cache maintenance (issue 20) reveal internals: admins only."""
    operations = {rpc: rule for rpc, rule in policy.POLICIES.items()
                  if rpc.startswith("/hotgigs.v1.OperationsService/")}
    assert sorted(rpc.rsplit("/", 1)[1] for rpc in operations) == [
        "ClearCache", "GetJobsPerformance", "GetPerformance", "RefreshMaterializedViews"]
    for rule in operations.values():
        assert not rule.public and rule.roles == frozenset({"admin"})
        assert rule.allows_role("admin")
        assert not any(rule.allows_role(role) for role in ("candidate", "company", "recruiter"))


def test_oauth_sign_in_has_the_policy_of_login() -> None:
    """Public, the auth flows' rate limit per address, never an API key (issue 20 item 1);
    its identity routes need a person's session."""
    rpcs = {rpc.split("/")[-1]: rule for rpc, rule in policy.POLICIES.items()
            if rpc.startswith("/hotgigs.v1.AuthService/")}
    assert rpcs["OAuthLogin"] == rpcs["Login"]
    assert rpcs["OAuthLogin"].rate == "auth" and not rpcs["OAuthLogin"].keys
    for name in ("ListIdentities", "UnlinkIdentity"):
        assert rpcs[name] == rpcs["GetCurrentUser"]
        assert not rpcs[name].public and not rpcs[name].keys
