"""Pure conversions of the auth module: requests into its inputs; an account is shown as the
users module shows it."""

from __future__ import annotations

from hotgigs.auth.identities import OAuthLoginIn
from hotgigs.auth.service import LoginIn, PasswordChangeIn, PasswordResetIn, RegisterIn
from hotgigs.core.protos import optional, timestamp
from hotgigs.models import UserIdentity
from hotgigs.users.convert import account_to_proto as user_to_proto
from hotgigs.v1 import auth_pb2

__all__ = ["identity_to_proto", "login_in", "oauth_login_in", "password_change_in",
           "password_reset_in", "register_in", "user_to_proto"]


def register_in(request: auth_pb2.RegisterRequest) -> RegisterIn:
    return RegisterIn(email=request.email, password=request.password,
                      first_name=request.first_name, last_name=request.last_name,
                      user_type=request.user_type, phone=optional(request, "phone"))


def login_in(request: auth_pb2.LoginRequest, *, client_address: str) -> LoginIn:
    """The credentials, and the address they came from (the sign-in throttle counts by it)."""
    return LoginIn(email=request.email, password=request.password, client_address=client_address)


def password_change_in(request: auth_pb2.ChangePasswordRequest) -> PasswordChangeIn:
    return PasswordChangeIn(current_password=request.current_password,
                            new_password=request.new_password)


def password_reset_in(request: auth_pb2.ResetPasswordRequest) -> PasswordResetIn:
    return PasswordResetIn(token=request.token, new_password=request.new_password)


def oauth_login_in(request: auth_pb2.OAuthLoginRequest) -> OAuthLoginIn:
    return OAuthLoginIn(provider=request.provider, id_token=request.id_token,
                        access_token=request.access_token, nonce=request.nonce,
                        user_type=request.user_type)


def identity_to_proto(identity: UserIdentity) -> auth_pb2.Identity:
    return auth_pb2.Identity(id=identity.id, provider=identity.provider,
                             email=identity.email or "",
                             created_at=timestamp(identity.created_at),
                             last_used_at=timestamp(identity.last_used_at))
