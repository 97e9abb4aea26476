"""Accounts and sessions: register, login, refresh (rotation + re-use detection), logout,
password change and reset, e-mail verification. Plain functions on a SQLAlchemy session; what
signs and ends sessions (token service, session store, sign-in throttle) is passed in by the
servicer, which builds it once per process.

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

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotgigs import validation
from hotgigs.audit import service as audit_service
from hotgigs.auth import queries
from hotgigs.context import Principal
from hotgigs.core import limits
from hotgigs.core.rpc import CANDIDATE, ROLE_ALIASES, SELF_REGISTERABLE_ROLES
from hotgigs.errors import (
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
)
from hotgigs.mail import outbox
from hotgigs.models import AuthSession, OneTimeToken, RefreshToken, User
from hotgigs.security import passwords
from hotgigs.security.login_throttle import LoginThrottle
from hotgigs.security.sessions import SessionStore, parse_session_id
from hotgigs.security.tokens import REFRESH, TokenService
from hotgigs.settings import Settings
from hotgigs.users import service as users_service
from hotgigs.validation import Validator

log = structlog.get_logger(__name__)

BAD_CREDENTIALS = "Invalid email or password"
VERIFY_TOKEN_HOURS = 48
RESET_TOKEN_HOURS = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class RegisterIn:
    """A self-registration: the account and its first password."""

    email: str
    password: str
    first_name: str
    last_name: str
    user_type: str
    phone: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class LoginIn:
    """A sign-in attempt and the client address it comes from (for the throttle)."""

    email: str
    password: str
    client_address: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class PasswordChangeIn:
    current_password: str
    new_password: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class PasswordResetIn:
    """A new password and the reset link's token that allows it."""

    token: str
    new_password: str


@dataclasses.dataclass(frozen=True)
class SignedIn:
    """A user with a fresh session and its tokens."""

    user: User
    access_token: str
    refresh_token: str
    expires_in: int


# ---- helpers --------------------------------------------------------------------------------------
def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def start_session(session: Session, *, user: User, tokens: TokenService,
                  sessions: SessionStore) -> SignedIn:
    """A new session of `user` and its first tokens (every way of signing in ends here)."""
    auth_session = sessions.create(session, user_id=user.id)
    return _tokens_for(session, user, auth_session, tokens=tokens, parent_jti=None)


def _tokens_for(session: Session, user: User, auth_session: AuthSession, *, tokens: TokenService,
                parent_jti: str | None) -> SignedIn:
    sid = str(auth_session.id)
    access = tokens.issue_access(user_id=user.id, role=user.user_type, session_id=sid)
    renewal = tokens.issue_refresh(user_id=user.id, role=user.user_type, session_id=sid)
    session.add(RefreshToken(jti=renewal.token_id, user_id=user.id, family_id=auth_session.id,
                             parent_jti=parent_jti, expires_at=renewal.expires_at))
    session.flush()
    return SignedIn(user, access.token, renewal.token, tokens.access_ttl_seconds)


def _one_time_token(session: Session, *, user_id: int, purpose: str, hours: int) -> str:
    token = secrets.token_urlsafe(32)
    session.add(OneTimeToken(token_hash=_digest(token), user_id=user_id, purpose=purpose,
                             expires_at=_now() + dt.timedelta(hours=hours)))
    return token


def _claim_one_time_token(session: Session, *, token: str, purpose: str) -> OneTimeToken:
    row = queries.one_time_token_for_update(session, token_hash=_digest(token), purpose=purpose)
    if row is None or row.used_at is not None or row.expires_at <= _now():
        raise InvalidArgument("This link is invalid, expired or already used",
                              [FieldViolation("token", "is invalid, expired or already used")],
                              reason="TOKEN_INVALID")
    row.used_at = _now()
    return row


def _spend_reset_tokens(session: Session, *, user_id: int) -> None:
    """Use up every outstanding reset link of the user: once one is used or the password
    changes, an older (or newer) link must not set it again."""
    queries.spend_one_time_tokens(session, user_id=user_id, purpose="reset_password", at=_now())


def active_user(session: Session, *, user_id: int) -> User:
    """The account `user_id` while it exists and is active, else UNAUTHENTICATED."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("This account is not available", reason="ACCOUNT_UNAVAILABLE")
    return user


# ---- use cases ------------------------------------------------------------------------------------
def register(session: Session, *, settings: Settings, tokens: TokenService,
             sessions: SessionStore, register_in: RegisterIn) -> SignedIn:
    """A new account (candidates also get their empty candidate profile), its verification
    mail queued, signed in."""
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
        users_service.create_candidate_profile(session, user_id=user.id)
    token = _one_time_token(session, user_id=user.id, purpose="verify_email",
                            hours=VERIFY_TOKEN_HOURS)
    outbox.enqueue(session, to=email, kind="verify_email",
                   subject="Confirm your HotGigs e-mail address",
                   body=f"Hello {first},\n\nconfirm your e-mail address for HotGigs by opening\n"
                        f"{settings.public_url}/api/auth/verify-email/{token}\n\n"
                        f"The link works once and expires in {VERIFY_TOKEN_HOURS} hours.\n")
    log.info("user_registered", user_id=user.id, user_type=role)
    return start_session(session, user=user, tokens=tokens, sessions=sessions)


def login(session: Session, *, tokens: TokenService, sessions: SessionStore,
          throttle: LoginThrottle, login_in: LoginIn) -> SignedIn:
    """A new session for the right e-mail and password, within the sign-in throttle."""
    normalised, address = login_in.email.strip().lower(), login_in.client_address
    # Anything that is not an address (a NUL byte would even fail the query) is unknown.
    is_address = validation.is_email(normalised)
    target = f"email:{normalised}" if is_address else "email:(not an address)"
    # Throttled attempts are answered before any lookup or password check, the same way
    # for unknown and existing e-mails.
    try:
        throttle.check(normalised, address)
    except ResourceExhausted as error:
        audit_service.record(session, actor_user_id=None, action="auth.login_throttled",
                             target=target, details={"client_address": address})
        raise error.after_commit() from None
    user = users_service.find_user(session, email=normalised) if is_address else None
    if user is None:
        passwords.verify_password(passwords.DUMMY_HASH, login_in.password)  # same cost as a real check
        throttle.failed(normalised, address)
        audit_service.record(session, actor_user_id=None, action="auth.login_failed",
                             target=target, details={"client_address": address,
                                                     "reason": "unknown_email"})
        raise Unauthenticated(BAD_CREDENTIALS, reason="BAD_CREDENTIALS").after_commit()
    if not passwords.verify_password(user.password_hash, login_in.password) or not user.is_active:
        throttle.failed(normalised, address)
        audit_service.record(session, actor_user_id=None, action="auth.login_failed",
                             target=f"user:{user.id}", details={
                                 "client_address": address,
                                 "reason": "inactive" if user.is_active is False else "bad_password"})
        raise Unauthenticated(BAD_CREDENTIALS, reason="BAD_CREDENTIALS").after_commit()
    throttle.succeeded(normalised, address)
    audit_service.record(session, actor_user_id=user.id, action="auth.login",
                         target=f"user:{user.id}", details={"client_address": address})
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(login_in.password)
    user.last_login_at = _now()
    log.info("user_logged_in", user_id=user.id)
    return start_session(session, user=user, tokens=tokens, sessions=sessions)


def refresh(session: Session, *, settings: Settings, tokens: TokenService,
            sessions: SessionStore, refresh_token: str) -> SignedIn:
    """New tokens for a live session; a re-used refresh token or an idle session ends it."""
    claims = tokens.decode(refresh_token, kind=REFRESH)
    row = queries.refresh_token_for_update(session, claims.token_id)
    session_id = parse_session_id(claims.session_id)
    auth_session = session.get(AuthSession, session_id, with_for_update=True) \
        if session_id else None
    if row is None or auth_session is None or auth_session.revoked_at is not None:
        raise Unauthenticated("This session has ended; sign in again", reason="SESSION_REVOKED")
    now = _now()
    if row.used_at is not None:
        sessions.revoke(session, [auth_session.id], reason="refresh_token_reuse")
        log.warning("refresh_token_reuse_detected", user_id=row.user_id)
        raise Unauthenticated("This refresh token was already used; the session is revoked",
                              reason="REFRESH_TOKEN_REUSED").after_commit()
    idle = (now - auth_session.last_used_at).total_seconds()
    if idle > settings.session_idle_timeout_seconds:
        sessions.revoke(session, [auth_session.id], reason="idle_timeout")
        raise Unauthenticated("Session expired after inactivity; sign in again",
                              reason="SESSION_IDLE").after_commit()
    user = active_user(session, user_id=row.user_id)
    row.used_at = now
    auth_session.last_used_at = now
    return _tokens_for(session, user, auth_session, tokens=tokens, parent_jti=row.jti)


def logout(session: Session, *, sessions: SessionStore, actor: Principal) -> None:
    """Ends the caller's session."""
    session_id = parse_session_id(actor.session_id)
    if session_id is not None:
        sessions.revoke(session, [session_id], reason="logout")
    log.info("user_logged_out", user_id=actor.user_id)


def get_current_user(session: Session, *, actor: Principal) -> User:
    """The caller's account, while it is active."""
    return active_user(session, user_id=actor.user_id)


def change_password(session: Session, *, sessions: SessionStore, actor: Principal,
                    password_change_in: PasswordChangeIn) -> None:
    """A new password for the caller; their other sessions and reset links end."""
    current, new = password_change_in.current_password, password_change_in.new_password
    user = active_user(session, user_id=actor.user_id)
    if not passwords.verify_password(user.password_hash, current):
        raise InvalidArgument("Current password is wrong",
                              [FieldViolation("current_password", "is wrong")],
                              reason="BAD_CREDENTIALS")
    violations = passwords.strength_violations(new, "new_password")
    if new == current:
        violations.append(FieldViolation("new_password", "must differ from the current one"))
    if violations:
        raise InvalidArgument("New password is too weak", violations)
    user.password_hash = passwords.hash_password(new)
    _spend_reset_tokens(session, user_id=user.id)
    sessions.revoke_all_for_user(session, user_id=user.id, reason="password_changed",
                                 keep=parse_session_id(actor.session_id))
    audit_service.record(session, actor_user_id=user.id, action="auth.password_change",
                         target=f"user:{user.id}")
    log.info("password_changed", user_id=user.id)


def forgot_password(session: Session, *, settings: Settings, email: str) -> None:
    """Queues a reset link for an active account; says nothing about unknown addresses."""
    normalised = email.strip().lower()
    user = users_service.find_user(session, email=normalised) if validation.is_email(normalised) else None
    if user is None or not user.is_active:
        log.info("password_reset_requested_unknown")
        return
    token = _one_time_token(session, user_id=user.id, purpose="reset_password",
                            hours=RESET_TOKEN_HOURS)
    outbox.enqueue(session, to=user.email, kind="reset_password",
                   subject="Reset your HotGigs password",
                   body=f"Hello {user.first_name},\n\nsomeone asked to reset the password of "
                        f"your HotGigs account. To choose a new one, open\n"
                        f"{settings.public_url}/reset-password?token={token}\n\n"
                        f"The link works once and expires in {RESET_TOKEN_HOURS} hour. If it "
                        f"was not you, ignore this mail.\n")
    log.info("password_reset_requested", user_id=user.id)


def reset_password(session: Session, *, sessions: SessionStore,
                   password_reset_in: PasswordResetIn) -> None:
    """Sets the password a reset link allows; every session of the account ends."""
    violations = passwords.strength_violations(password_reset_in.new_password, "new_password")
    if violations:
        raise InvalidArgument("New password is too weak", violations)
    claimed = _claim_one_time_token(session, token=password_reset_in.token,
                                    purpose="reset_password")
    user = session.get(User, claimed.user_id)
    if user is None:
        raise NotFound("Account not found")
    user.password_hash = passwords.hash_password(password_reset_in.new_password)
    _spend_reset_tokens(session, user_id=user.id)
    sessions.revoke_all_for_user(session, user_id=user.id, reason="password_reset")
    audit_service.record(session, actor_user_id=None, action="auth.password_reset",
                         target=f"user:{user.id}")
    log.info("password_reset", user_id=user.id)


def verify_email(session: Session, *, token: str) -> None:
    """Marks the address of a verification link's account verified (once)."""
    claimed = _claim_one_time_token(session, token=token, purpose="verify_email")
    user = session.get(User, claimed.user_id)
    if user is not None and user.email_verified_at is None:
        user.email_verified_at = _now()
        log.info("email_verified", user_id=user.id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def confirm_password(session: Session, *, user_id: int, password: str) -> None:
    """Refuse unless `password` is the user's (a destructive self-service action re-asks it)."""
    user = active_user(session, user_id=user_id)
    if not password or not passwords.verify_password(user.password_hash, password):
        raise InvalidArgument("The password is wrong", [FieldViolation("password", "is wrong")],
                              reason="BAD_CREDENTIALS")


def erase_account(session: Session, *, user_id: int) -> None:
    """Delete the account and, through the foreign keys, everything that is only its."""
    queries.delete_user(session, user_id)
    log.info("account_erased", user_id=user_id)
