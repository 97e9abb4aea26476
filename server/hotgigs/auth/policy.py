"""The RPCs of `hotgigs.v1.AuthService`: who may call each (`hotgigs.core.rpc`), which
creates are idempotent, and which answer other than 200 over REST."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import AUTH_FLOW, SIGNED_IN, Policy, Rpc, created, no_keys

# People's sign-in flows and sessions: never a service account's API key.
FLOW: Final = no_keys(AUTH_FLOW)
PERSON: Final = no_keys(SIGNED_IN)

SERVICE: Final = "AuthService"
RPCS: Final = {
    "Register": created(FLOW),
    "Login": Rpc(FLOW),
    # The original API sends the refresh token as the bearer token here.
    "RefreshToken": Rpc(Policy(public=True, rate="auth", bearer="refresh", keys=False)),
    "Logout": Rpc(PERSON),
    "GetCurrentUser": Rpc(PERSON),
    "ChangePassword": Rpc(PERSON),
    "ForgotPassword": Rpc(FLOW),
    "VerifyEmail": Rpc(FLOW),
    "ResetPassword": Rpc(FLOW),
    # Sign-in with an identity provider: public like Login, with its rate limit; a bearer
    # token, when sent, links the identity to the caller's account.
    "OAuthLogin": Rpc(FLOW),
    "ListIdentities": Rpc(PERSON),
    "UnlinkIdentity": Rpc(PERSON),
}
