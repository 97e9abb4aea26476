"""The RPCs of `hotgigs.v1.AuthService`: who may call each (`hotgigs.core.rpc`), which
creates are idempotent, and which answer other than 200 over REST."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import AUTH_FLOW, SIGNED_IN, Policy, Rpc, created

SERVICE: Final = "AuthService"
RPCS: Final = {
    "Register": created(AUTH_FLOW),
    "Login": Rpc(AUTH_FLOW),
    # The original API sends the refresh token as the bearer token here.
    "RefreshToken": Rpc(Policy(public=True, rate="auth", bearer="refresh")),
    "Logout": Rpc(SIGNED_IN),
    "GetCurrentUser": Rpc(SIGNED_IN),
    "ChangePassword": Rpc(SIGNED_IN),
    "ForgotPassword": Rpc(AUTH_FLOW),
    "VerifyEmail": Rpc(AUTH_FLOW),
    "ResetPassword": Rpc(AUTH_FLOW),
}
