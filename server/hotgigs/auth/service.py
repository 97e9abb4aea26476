"""Accounts and sessions: register, login, refresh (rotation + re-use detection), logout,
password change and reset, e-mail verification. Plain Python on a SQLAlchemy session.

Sign-in throttling per (e-mail, client address), never locking the owner out: see
`hotgigs.security.login_throttle`.
Idle timeout: a session that has not refreshed for `session_idle_timeout_seconds` (default 2 h)
can no longer refresh; with 1 h access tokens an idle session is dead within 3 h at most.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotgigs import validation
from hotgigs.auth import queries
from hotgigs.context import Principal
from hotgigs.core import limits
from hotgigs.core.rpc import CANDIDATE, ROLE_ALIASES, SELF_REGISTERABLE_ROLES
from hotgigs.errors import (
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from hotgigs.mail import outbox
from hotgigs.models import AuthSession, CandidateProfile, OneTimeToken, RefreshToken, User
from hotgigs.security import passwords
from hotgigs.security.login_throttle import LoginThrottle
from hotgigs.security.sessions import SessionStore, parse_session_id
from hotgigs.security.tokens import REFRESH, TokenService
from hotgigs.settings import Settings
from hotgigs.validation import Validator

log = structlog.get_logger(__name__)

BAD_CREDENTIALS = "Invalid email or password"
VERIFY_TOKEN_HOURS = 48
RESET_TOKEN_HOURS = 1


@dataclasses.dataclass(frozen=True)
class RegisterIn:
    email: str
    password: str
    first_name: str
    last_name: str
    user_type: str
    phone: str | None


@dataclasses.dataclass(frozen=True)
class SignedIn:
    """A user with a fresh session and its tokens."""

    user: User
    access_token: str
    refresh_token: str
    expires_in: int


@dataclasses.dataclass
class AuthService:
    """Everything the auth RPCs need besides the database session."""

    settings: Settings
    tokens: TokenService
    sessions: SessionStore
    throttle: LoginThrottle

    # ---- helpers ------------------------------------------------------------------------------
    def _now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def _sign_in(self, session: Session, user: User) -> SignedIn:
        auth_session = self.sessions.create(session, user_id=user.id)
        return self._tokens_for(session, user, auth_session, parent_jti=None)

    def _tokens_for(self, session: Session, user: User, auth_session: AuthSession, *,
                    parent_jti: str | None) -> SignedIn:
        sid = str(auth_session.id)
        access = self.tokens.issue_access(user_id=user.id, role=user.user_type, session_id=sid)
        refresh = self.tokens.issue_refresh(user_id=user.id, role=user.user_type, session_id=sid)
        session.add(RefreshToken(jti=refresh.token_id, user_id=user.id, family_id=auth_session.id,
                                 parent_jti=parent_jti, expires_at=refresh.expires_at))
        session.flush()
        return SignedIn(user, access.token, refresh.token, self.tokens.access_ttl_seconds)

    def _one_time_token(self, session: Session, *, user_id: int, purpose: str, hours: int) -> str:
        token = secrets.token_urlsafe(32)
        session.add(OneTimeToken(token_hash=_digest(token), user_id=user_id, purpose=purpose,
                                 expires_at=self._now() + dt.timedelta(hours=hours)))
        return token

    def _claim_one_time_token(self, session: Session, *, token: str, purpose: str) -> OneTimeToken:
        row = queries.one_time_token_for_update(session, token_hash=_digest(token),
                                                purpose=purpose)
        if row is None or row.used_at is not None or row.expires_at <= self._now():
            raise InvalidArgument("This link is invalid, expired or already used",
                                  [FieldViolation("token", "is invalid, expired or already used")],
                                  reason="TOKEN_INVALID")
        row.used_at = self._now()
        return row

    def _spend_reset_tokens(self, session: Session, *, user_id: int) -> None:
        """Use up every outstanding reset link of the user: once one is used or the password
        changes, an older (or newer) link must not set it again."""
        queries.spend_one_time_tokens(session, user_id=user_id, purpose="reset_password",
                                      at=self._now())

    def _active_user(self, session: Session, user_id: int) -> User:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            raise Unauthenticated("This account is not available", reason="ACCOUNT_UNAVAILABLE")
        return user

    # ---- RPCs ---------------------------------------------------------------------------------
    def register(self, session: Session, *, register_in: RegisterIn) -> SignedIn:
        check = Validator()
        email = check.email("email", register_in.email)
        first = check.text("first_name", register_in.first_name, max_length=limits.NAME, required=True)
        last = check.text("last_name", register_in.last_name, max_length=limits.NAME, required=True)
        phone = check.text("phone", register_in.phone, max_length=limits.PHONE)
        role = check.choice("user_type", register_in.user_type.strip().lower(),
                            SELF_REGISTERABLE_ROLES, aliases=ROLE_ALIASES, required=True)
        check.violations.extend(passwords.strength_violations(register_in.password))
        check.check("Registration data is invalid")
        if not (email and first and last and role):  # unreachable: check() raised already
            raise InvalidArgument("Registration data is invalid")
        if queries.email_taken(session, email):
            raise AlreadyExists("An account with this email already exists", reason="EMAIL_TAKEN")
        user = User(email=email, password_hash=passwords.hash_password(register_in.password),
                    first_name=first, last_name=last, phone=phone or None, user_type=role)
        session.add(user)
        try:
            session.flush()
        except IntegrityError:  # a concurrent registration won the race
            raise AlreadyExists("An account with this email already exists",
                                reason="EMAIL_TAKEN") from None
        if role == CANDIDATE:
            session.add(CandidateProfile(user_id=user.id))
        token = self._one_time_token(session, user_id=user.id, purpose="verify_email",
                                     hours=VERIFY_TOKEN_HOURS)
        outbox.enqueue(session, to=email, kind="verify_email",
                       subject="Confirm your HotGigs e-mail address",
                       body=f"Hello {first},\n\nconfirm your e-mail address for HotGigs by opening\n"
                            f"{self.settings.public_url}/api/auth/verify-email/{token}\n\n"
                            f"The link works once and expires in {VERIFY_TOKEN_HOURS} hours.\n")
        log.info("user_registered", user_id=user.id, user_type=role)
        return self._sign_in(session, user)

    def login(self, session: Session, *, email: str, password: str,
              client_address: str) -> SignedIn:
        normalised = email.strip().lower()
        # Throttled attempts are answered before any lookup or password check, the same way
        # for unknown and existing e-mails.
        self.throttle.check(normalised, client_address)
        # Anything that is not an address (a NUL byte would even fail the query) is unknown.
        user = queries.user_by_email(session, normalised) \
            if validation.is_email(normalised) else None
        if user is None:
            passwords.verify_password(passwords.DUMMY_HASH, password)  # same cost as a real check
            self.throttle.failed(normalised, client_address)
            raise Unauthenticated(BAD_CREDENTIALS, reason="BAD_CREDENTIALS")
        if not passwords.verify_password(user.password_hash, password) or not user.is_active:
            self.throttle.failed(normalised, client_address)
            raise Unauthenticated(BAD_CREDENTIALS, reason="BAD_CREDENTIALS")
        self.throttle.succeeded(normalised, client_address)
        if passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        user.last_login_at = self._now()
        log.info("user_logged_in", user_id=user.id)
        return self._sign_in(session, user)

    def refresh(self, session: Session, *, refresh_token: str) -> SignedIn:
        claims = self.tokens.decode(refresh_token, kind=REFRESH)
        row = queries.refresh_token_for_update(session, claims.token_id)
        session_id = parse_session_id(claims.session_id)
        auth_session = session.get(AuthSession, session_id, with_for_update=True) \
            if session_id else None
        if row is None or auth_session is None or auth_session.revoked_at is not None:
            raise Unauthenticated("This session has ended; sign in again", reason="SESSION_REVOKED")
        now = self._now()
        if row.used_at is not None:
            self.sessions.revoke(session, [auth_session.id], reason="refresh_token_reuse")
            log.warning("refresh_token_reuse_detected", user_id=row.user_id)
            raise Unauthenticated("This refresh token was already used; the session is revoked",
                                  reason="REFRESH_TOKEN_REUSED").after_commit()
        idle = (now - auth_session.last_used_at).total_seconds()
        if idle > self.settings.session_idle_timeout_seconds:
            self.sessions.revoke(session, [auth_session.id], reason="idle_timeout")
            raise Unauthenticated("Session expired after inactivity; sign in again",
                                  reason="SESSION_IDLE").after_commit()
        user = self._active_user(session, row.user_id)
        row.used_at = now
        auth_session.last_used_at = now
        return self._tokens_for(session, user, auth_session, parent_jti=row.jti)

    def logout(self, session: Session, *, actor: Principal) -> None:
        session_id = parse_session_id(actor.session_id)
        if session_id is not None:
            self.sessions.revoke(session, [session_id], reason="logout")
        log.info("user_logged_out", user_id=actor.user_id)

    def current_user(self, session: Session, *, actor: Principal) -> User:
        return self._active_user(session, actor.user_id)

    def change_password(self, session: Session, *, actor: Principal, current_password: str,
                        new_password: str) -> None:
        user = self._active_user(session, actor.user_id)
        if not passwords.verify_password(user.password_hash, current_password):
            raise InvalidArgument("Current password is wrong",
                                  [FieldViolation("current_password", "is wrong")],
                                  reason="BAD_CREDENTIALS")
        violations = passwords.strength_violations(new_password, "new_password")
        if new_password == current_password:
            violations.append(FieldViolation("new_password", "must differ from the current one"))
        if violations:
            raise InvalidArgument("New password is too weak", violations)
        user.password_hash = passwords.hash_password(new_password)
        self._spend_reset_tokens(session, user_id=user.id)
        self.sessions.revoke_all_for_user(session, user_id=user.id, reason="password_changed",
                                          keep=parse_session_id(actor.session_id))
        log.info("password_changed", user_id=user.id)

    def forgot_password(self, session: Session, *, email: str) -> None:
        normalised = email.strip().lower()
        user = queries.user_by_email(session, normalised) \
            if validation.is_email(normalised) else None
        if user is None or not user.is_active:
            log.info("password_reset_requested_unknown")
            return
        token = self._one_time_token(session, user_id=user.id, purpose="reset_password",
                                     hours=RESET_TOKEN_HOURS)
        outbox.enqueue(session, to=user.email, kind="reset_password",
                       subject="Reset your HotGigs password",
                       body=f"Hello {user.first_name},\n\nsomeone asked to reset the password of "
                            f"your HotGigs account. To choose a new one, open\n"
                            f"{self.settings.public_url}/reset-password?token={token}\n\n"
                            f"The link works once and expires in {RESET_TOKEN_HOURS} hour. If it "
                            f"was not you, ignore this mail.\n")
        log.info("password_reset_requested", user_id=user.id)

    def reset_password(self, session: Session, *, token: str, new_password: str) -> None:
        violations = passwords.strength_violations(new_password, "new_password")
        if violations:
            raise InvalidArgument("New password is too weak", violations)
        claimed = self._claim_one_time_token(session, token=token, purpose="reset_password")
        user = session.get(User, claimed.user_id)
        if user is None:
            raise NotFound("Account not found")
        user.password_hash = passwords.hash_password(new_password)
        self._spend_reset_tokens(session, user_id=user.id)
        self.sessions.revoke_all_for_user(session, user_id=user.id, reason="password_reset")
        log.info("password_reset", user_id=user.id)

    def verify_email(self, session: Session, *, token: str) -> None:
        claimed = self._claim_one_time_token(session, token=token, purpose="verify_email")
        user = session.get(User, claimed.user_id)
        if user is not None and user.email_verified_at is None:
            user.email_verified_at = self._now()
            log.info("email_verified", user_id=user.id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- the module's API to other modules -------------------------------------------------------
def accounts(session: Session, *, user_ids: Iterable[int]) -> dict[int, User]:
    """The accounts of `user_ids` that exist, by id (to address mail, check they are active)."""
    return queries.users_by_id(session, user_ids)


def account_exists(session: Session, *, user_id: int) -> bool:
    return session.get(User, user_id) is not None


def find_account(session: Session, *, user_id: int | None = None, email: str | None = None
                 ) -> User | None:
    """The account with this id or (normalised) e-mail address, or None."""
    if user_id is not None:
        return session.get(User, user_id)
    return queries.user_by_email(session, email) if email is not None else None
