"""`hotgigs.v1.AuthService`: protobuf in, auth service, protobuf out."""

from __future__ import annotations

from typing import TypeVar

import grpc

from hotgigs import context as request_context
from hotgigs.auth import convert, identities, service
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.errors import Unauthenticated
from hotgigs.grpc_server.interceptors import metadata_value
from hotgigs.security.login_throttle import LoginThrottle
from hotgigs.security.oidc import OidcVerifier
from hotgigs.security.sessions import SessionStore
from hotgigs.security.tokens import TokenService, bearer_token
from hotgigs.settings import Settings
from hotgigs.v1 import auth_pb2, auth_pb2_grpc

SignedInResponse = TypeVar("SignedInResponse", auth_pb2.RegisterResponse, auth_pb2.LoginResponse,
                           auth_pb2.OAuthLoginResponse)


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    """Thin transport layer over `hotgigs.auth.service`, holding what its use cases sign
    sessions with."""

    def __init__(self, database: Database, settings: Settings, tokens: TokenService,
                 sessions: SessionStore, throttle: LoginThrottle,
                 verifier: OidcVerifier | None = None) -> None:
        self.database = database
        self.settings = settings
        self.tokens = tokens
        self.sessions = sessions
        self.throttle = throttle
        self.verifier = verifier or OidcVerifier(settings)

    @staticmethod
    def _signed_in(result: service.SignedIn, message: str, response_type: type[SignedInResponse]
                   ) -> SignedInResponse:
        return response_type(message=message, user=convert.user_to_proto(result.user),
                             access_token=result.access_token, refresh_token=result.refresh_token,
                             expires_in=result.expires_in)

    def Register(self, request: auth_pb2.RegisterRequest,
                 context: grpc.ServicerContext) -> auth_pb2.RegisterResponse:
        register_in = convert.register_in(request)
        with self.database.session_scope() as session:
            result = service.register(session, settings=self.settings, tokens=self.tokens,
                                      sessions=self.sessions, register_in=register_in)
            response = self._signed_in(result, "User registered successfully",
                                       auth_pb2.RegisterResponse)
        return response

    def Login(self, request: auth_pb2.LoginRequest,
              context: grpc.ServicerContext) -> auth_pb2.LoginResponse:
        state = request_context.current()
        login_in = convert.login_in(request, client_address=state.client_address if state else "")
        with self.database.session_scope() as session:
            result = service.login(session, tokens=self.tokens, sessions=self.sessions,
                                   throttle=self.throttle, login_in=login_in)
            return self._signed_in(result, "Login successful", auth_pb2.LoginResponse)

    def RefreshToken(self, request: auth_pb2.RefreshTokenRequest,
                     context: grpc.ServicerContext) -> auth_pb2.RefreshTokenResponse:
        token = request.refresh_token or bearer_token(metadata_value(context, "authorization"))
        if not token:
            raise Unauthenticated("Send the refresh token in the body or as the bearer token",
                                  reason="TOKEN_MISSING")
        with self.database.session_scope() as session:
            result = service.refresh(session, settings=self.settings, tokens=self.tokens,
                                     sessions=self.sessions, refresh_token=token)
        return auth_pb2.RefreshTokenResponse(access_token=result.access_token,
                                             refresh_token=result.refresh_token,
                                             expires_in=result.expires_in)

    def Logout(self, request: auth_pb2.LogoutRequest,
               context: grpc.ServicerContext) -> auth_pb2.LogoutResponse:
        with self.database.session_scope() as session:
            service.logout(session, sessions=self.sessions, actor=caller())
        return auth_pb2.LogoutResponse(message="Logged out")

    def GetCurrentUser(self, request: auth_pb2.GetCurrentUserRequest,
                       context: grpc.ServicerContext) -> auth_pb2.GetCurrentUserResponse:
        with self.database.session_scope() as session:
            user = service.get_current_user(session, actor=caller())
            return auth_pb2.GetCurrentUserResponse(user=convert.user_to_proto(user))

    def ChangePassword(self, request: auth_pb2.ChangePasswordRequest,
                       context: grpc.ServicerContext) -> auth_pb2.ChangePasswordResponse:
        change = convert.password_change_in(request)
        with self.database.session_scope() as session:
            service.change_password(session, sessions=self.sessions, actor=caller(),
                                    password_change_in=change)
        return auth_pb2.ChangePasswordResponse(
            message="Password changed; your other sessions were signed out")

    def ForgotPassword(self, request: auth_pb2.ForgotPasswordRequest,
                       context: grpc.ServicerContext) -> auth_pb2.ForgotPasswordResponse:
        with self.database.session_scope() as session:
            service.forgot_password(session, settings=self.settings, email=request.email)
        return auth_pb2.ForgotPasswordResponse(
            message="If an account exists for this address, a reset link is on its way")

    def VerifyEmail(self, request: auth_pb2.VerifyEmailRequest,
                    context: grpc.ServicerContext) -> auth_pb2.VerifyEmailResponse:
        with self.database.session_scope() as session:
            service.verify_email(session, token=request.token)
        return auth_pb2.VerifyEmailResponse(message="Email address verified")

    def ResetPassword(self, request: auth_pb2.ResetPasswordRequest,
                      context: grpc.ServicerContext) -> auth_pb2.ResetPasswordResponse:
        reset = convert.password_reset_in(request)
        with self.database.session_scope() as session:
            service.reset_password(session, sessions=self.sessions, password_reset_in=reset)
        return auth_pb2.ResetPasswordResponse(message="Password reset; sign in with the new one")

    def OAuthLogin(self, request: auth_pb2.OAuthLoginRequest,
                   context: grpc.ServicerContext) -> auth_pb2.OAuthLoginResponse:
        oauth_in = convert.oauth_login_in(request)
        with self.database.session_scope() as session:
            result = identities.oauth_login(session, verifier=self.verifier, tokens=self.tokens,
                                            sessions=self.sessions, oauth_in=oauth_in,
                                            actor=request_context.principal())
            message = ("User registered successfully" if result.created
                       else "Account linked" if result.linked else "Login successful")
            response = self._signed_in(result.signed_in, message, auth_pb2.OAuthLoginResponse)
        response.created, response.linked = result.created, result.linked
        return response

    def ListIdentities(self, request: auth_pb2.ListIdentitiesRequest,
                       context: grpc.ServicerContext) -> auth_pb2.ListIdentitiesResponse:
        with self.database.session_scope() as session:
            found = identities.list_identities(session, actor=caller())
            return auth_pb2.ListIdentitiesResponse(
                identities=[convert.identity_to_proto(row) for row in found.identities],
                has_password=found.has_password)

    def UnlinkIdentity(self, request: auth_pb2.UnlinkIdentityRequest,
                       context: grpc.ServicerContext) -> auth_pb2.UnlinkIdentityResponse:
        with self.database.session_scope() as session:
            identities.unlink_identity(session, actor=caller(), identity_id=request.id)
        return auth_pb2.UnlinkIdentityResponse(message="Identity unlinked")


def build(components: Components) -> AuthServicer:
    """The servicer of the running process (`hotgigs.manifest`), with its login throttle."""
    settings, security = components.settings, components.security
    throttle = LoginThrottle(components.cache, max_failures=settings.login_max_failures,
                             lockout_seconds=settings.login_lockout_seconds,
                             account_max_failures=settings.login_account_max_failures)
    return AuthServicer(components.database, settings, security.tokens, security.sessions,
                        throttle)
