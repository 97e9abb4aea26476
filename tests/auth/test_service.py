"""The auth service without gRPC or Envoy: sign-up, sign-in, refresh rotation, password change
and reset, e-mail verification, on the suite's real PostgreSQL and Redis.

Each test runs in one rolled-back transaction (the `session` fixture); the sign-in throttle's
counters live in Redis under each test's own e-mail addresses.
"""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.auth import service
from hotgigs.cache import Cache
from hotgigs.context import Principal
from hotgigs.db import Database
from hotgigs.errors import AlreadyExists, InvalidArgument, ResourceExhausted, Unauthenticated
from hotgigs.grpc_server.server import Security
from hotgigs.models import AuthSession, OutboxEmail, User
from hotgigs.security.login_throttle import LoginThrottle
from hotgigs.security.tokens import ACCESS, REFRESH
from hotgigs.settings import Settings
from hotgigs.users import service as users_service
from tests.support.servers import make_settings

PASSWORD = "Correct-Horse-Battery-9"
NEW_PASSWORD = "Another-Staple-Quietly-7"


@pytest.fixture(scope="module")
def auth_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("auth-service"), login_max_failures=3,
                         public_url="https://hotgigs.test")


@pytest.fixture(scope="module")
def security(auth_settings: Settings, own_database: Database, cache: Cache) -> Security:
    return Security.from_settings(auth_settings, own_database, cache)


@pytest.fixture(scope="module")
def throttle(auth_settings: Settings, cache: Cache) -> LoginThrottle:
    return LoginThrottle(cache, max_failures=auth_settings.login_max_failures,
                         lockout_seconds=auth_settings.login_lockout_seconds,
                         account_max_failures=auth_settings.login_account_max_failures)


@pytest.fixture
def email() -> str:
    return f"Auth-{uuid.uuid4().hex[:10]}@Example.TEST"


def register(session: Session, settings: Settings, security: Security, email: str, *,
             user_type: str = "candidate") -> service.SignedIn:
    return service.register(session, settings=settings, tokens=security.tokens,
                            sessions=security.sessions,
                            register_in=service.RegisterIn(email=email, password=PASSWORD,
                                                           first_name="Ada", last_name="Lovelace",
                                                           user_type=user_type))


def login(session: Session, security: Security, throttle: LoginThrottle, email: str,
          password: str = PASSWORD, address: str = "192.0.2.10") -> service.SignedIn:
    return service.login(session, tokens=security.tokens, sessions=security.sessions,
                         throttle=throttle, login_in=service.LoginIn(
                             email=email, password=password, client_address=address))


def actor_of(security: Security, signed_in: service.SignedIn) -> Principal:
    claims = security.tokens.decode(signed_in.refresh_token, kind=REFRESH)
    return Principal(user_id=signed_in.user.id, role=signed_in.user.user_type,
                     session_id=claims.session_id, token_id=claims.token_id)


def mailed_token(session: Session, user: User, kind: str) -> str:
    body = session.scalars(sa.select(OutboxEmail.body_text).where(
        OutboxEmail.to_address == user.email, OutboxEmail.kind == kind)).one()
    found = re.search(r"(?:verify-email/|token=)([A-Za-z0-9_-]+)", body)
    assert found, body
    return found.group(1)


def revoked(session: Session, signed_in: service.SignedIn, security: Security) -> bool:
    session_id = uuid.UUID(actor_of(security, signed_in).session_id)
    row = session.get(AuthSession, session_id)
    assert row is not None
    session.refresh(row)
    return row.revoked_at is not None


class TestRegister:
    def test_candidate_gets_a_profile_and_a_verification_mail(
            self, session: Session, auth_settings: Settings, security: Security, email: str) -> None:
        signed_in = register(session, auth_settings, security, email)
        assert signed_in.user.email == email.lower()
        assert users_service.candidate_profile_of(session, user_id=signed_in.user.id) is not None
        assert mailed_token(session, signed_in.user, "verify_email")
        assert security.tokens.decode(signed_in.access_token, kind=ACCESS).user_id == signed_in.user.id

    def test_company_accounts_get_no_candidate_profile(
            self, session: Session, auth_settings: Settings, security: Security, email: str) -> None:
        signed_in = register(session, auth_settings, security, email, user_type="company")
        assert users_service.candidate_profile_of(session, user_id=signed_in.user.id) is None

    def test_an_address_registers_once_whatever_its_case(
            self, session: Session, auth_settings: Settings, security: Security, email: str) -> None:
        register(session, auth_settings, security, email)
        with pytest.raises(AlreadyExists):
            register(session, auth_settings, security, email.upper())

    def test_admins_cannot_register_and_weak_passwords_are_refused(
            self, session: Session, auth_settings: Settings, security: Security, email: str) -> None:
        with pytest.raises(InvalidArgument) as refused:
            service.register(session, settings=auth_settings, tokens=security.tokens,
                             sessions=security.sessions, register_in=service.RegisterIn(
                                 email=email, password="password", first_name="A",
                                 last_name="B", user_type="admin"))
        assert {v.field for v in refused.value.violations} >= {"user_type", "password"}


class TestLogin:
    def test_unknown_address_and_wrong_password_answer_alike(
            self, session: Session, auth_settings: Settings, security: Security,
            throttle: LoginThrottle, email: str) -> None:
        register(session, auth_settings, security, email)
        with pytest.raises(Unauthenticated) as wrong:
            login(session, security, throttle, email, password="Wrong-Password-123")
        with pytest.raises(Unauthenticated) as unknown:
            login(session, security, throttle, f"nobody-{email}")
        assert (wrong.value.message, wrong.value.reason) == (unknown.value.message,
                                                             unknown.value.reason)

    def test_a_deactivated_account_cannot_sign_in(
            self, session: Session, auth_settings: Settings, security: Security,
            throttle: LoginThrottle, email: str) -> None:
        signed_in = register(session, auth_settings, security, email)
        signed_in.user.is_active = False
        with pytest.raises(Unauthenticated):
            login(session, security, throttle, email)

    def test_repeated_failures_throttle_that_address_only(
            self, session: Session, auth_settings: Settings, security: Security,
            throttle: LoginThrottle, email: str) -> None:
        register(session, auth_settings, security, email)
        for _ in range(auth_settings.login_max_failures):
            with pytest.raises(Unauthenticated):
                login(session, security, throttle, email, password="Wrong-Password-123")
        with pytest.raises(ResourceExhausted):
            login(session, security, throttle, email)  # even the right password waits
        assert login(session, security, throttle, email, address="198.51.100.7").user.email \
            == email.lower()

    def test_signs_in_with_a_new_session(
            self, session: Session, auth_settings: Settings, security: Security,
            throttle: LoginThrottle, email: str) -> None:
        registered = register(session, auth_settings, security, email)
        signed_in = login(session, security, throttle, email)
        assert signed_in.user.last_login_at is not None
        assert actor_of(security, signed_in).session_id != actor_of(security, registered).session_id


class TestRefresh:
    def test_rotation_and_reuse_revokes_the_session(
            self, session: Session, auth_settings: Settings, security: Security, email: str) -> None:
        first = register(session, auth_settings, security, email)
        second = service.refresh(session, settings=auth_settings, tokens=security.tokens,
                                 sessions=security.sessions, refresh_token=first.refresh_token)
        assert second.refresh_token != first.refresh_token
        with pytest.raises(Unauthenticated) as reused:
            service.refresh(session, settings=auth_settings, tokens=security.tokens,
                            sessions=security.sessions, refresh_token=first.refresh_token)
        assert reused.value.reason == "REFRESH_TOKEN_REUSED"
        assert revoked(session, first, security)
        with pytest.raises(Unauthenticated) as ended:
            service.refresh(session, settings=auth_settings, tokens=security.tokens,
                            sessions=security.sessions, refresh_token=second.refresh_token)
        assert ended.value.reason == "SESSION_REVOKED"

    def test_logout_ends_the_session(
            self, session: Session, auth_settings: Settings, security: Security, email: str) -> None:
        signed_in = register(session, auth_settings, security, email)
        service.logout(session, sessions=security.sessions, actor=actor_of(security, signed_in))
        assert revoked(session, signed_in, security)


class TestPasswords:
    def test_change_keeps_this_session_and_ends_the_others(
            self, session: Session, auth_settings: Settings, security: Security,
            throttle: LoginThrottle, email: str) -> None:
        this = register(session, auth_settings, security, email)
        other = login(session, security, throttle, email)
        service.change_password(session, sessions=security.sessions, actor=actor_of(security, this),
                                password_change_in=service.PasswordChangeIn(
                                    current_password=PASSWORD, new_password=NEW_PASSWORD))
        assert not revoked(session, this, security)
        assert revoked(session, other, security)
        assert login(session, security, throttle, email, password=NEW_PASSWORD)

    @pytest.mark.parametrize(("current", "new", "field"), [
        ("Wrong-Password-123", NEW_PASSWORD, "current_password"),
        (PASSWORD, PASSWORD, "new_password"),
        (PASSWORD, "short", "new_password"),
    ])
    def test_change_refuses(self, session: Session, auth_settings: Settings, security: Security,
                            email: str, current: str, new: str, field: str) -> None:
        signed_in = register(session, auth_settings, security, email)
        with pytest.raises(InvalidArgument) as refused:
            service.change_password(session, sessions=security.sessions,
                                    actor=actor_of(security, signed_in),
                                    password_change_in=service.PasswordChangeIn(
                                        current_password=current, new_password=new))
        assert field in {v.field for v in refused.value.violations}

    def test_a_reset_link_works_once_and_ends_every_session(
            self, session: Session, auth_settings: Settings, security: Security,
            throttle: LoginThrottle, email: str) -> None:
        signed_in = register(session, auth_settings, security, email)
        service.forgot_password(session, settings=auth_settings, email=email)
        token = mailed_token(session, signed_in.user, "reset_password")
        reset = service.PasswordResetIn(token=token, new_password=NEW_PASSWORD)
        service.reset_password(session, sessions=security.sessions, password_reset_in=reset)
        assert revoked(session, signed_in, security)
        with pytest.raises(InvalidArgument):
            service.reset_password(session, sessions=security.sessions, password_reset_in=reset)
        assert login(session, security, throttle, email, password=NEW_PASSWORD)

    def test_forgot_password_queues_nothing_for_unknown_addresses(
            self, session: Session, auth_settings: Settings, email: str) -> None:
        service.forgot_password(session, settings=auth_settings, email=email)
        assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)
                              .where(OutboxEmail.to_address == email.lower())) == 0


def test_verify_email_marks_the_address_once(
        session: Session, auth_settings: Settings, security: Security, email: str) -> None:
    signed_in = register(session, auth_settings, security, email)
    token = mailed_token(session, signed_in.user, "verify_email")
    service.verify_email(session, token=token)
    assert signed_in.user.email_verified_at is not None
    with pytest.raises(InvalidArgument):
        service.verify_email(session, token=token)


def test_accounts_are_found_through_the_users_module(
        session: Session, auth_settings: Settings, security: Security, email: str) -> None:
    """Sign-up and sign-in read accounts through `hotgigs.users.service`, as other modules do."""
    user = register(session, auth_settings, security, email).user
    assert users_service.find_user(session, email=email.lower()) is user
    assert users_service.find_user(session, user_id=user.id) is user
    assert users_service.user_exists(session, user_id=user.id)
    assert users_service.users_by_id(session, user_ids=[user.id, user.id]) == {user.id: user}
    assert users_service.find_user(session, email=f"x{email.lower()}") is None
