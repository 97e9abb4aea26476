"""Sign-in with an identity provider (`POST /api/auth/oauth`) and the identities linked to an
account. Verification of the provider's token is `hotgigs.security.oidc`'s job; this decides
which account it opens:

1. an identity already linked (provider, subject): that account signs in;
2. a signed-in caller (bearer token): the identity is linked to the caller's account;
3. an account with the same e-mail: linked only when the provider says the e-mail is verified
   (else FAILED_PRECONDITION OIDC_EMAIL_NOT_VERIFIED: an unverified address is never trusted to
   open someone's account), never an admin account (admins link while signed in). If that
   account never verified its own e-mail, whoever registered it may not own the address: its
   password is cleared and its sessions end (the owner sets one through forgot-password);
4. otherwise a new account with the role of `user_type` (never admin), no password and the
   e-mail verified; only with a verified e-mail, so no account holds an address nobody proved.

Every link and unlink is written to the audit log. Sessions and tokens are the password
sign-in's (`service.start_session`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotgigs import validation
from hotgigs.audit import service as audit_service
from hotgigs.auth import queries
from hotgigs.auth.service import SignedIn, active_user, start_session
from hotgigs.context import Principal
from hotgigs.core import limits
from hotgigs.core.rpc import ADMIN, CANDIDATE, ROLE_ALIASES, SELF_REGISTERABLE_ROLES
from hotgigs.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    Unauthenticated,
)
from hotgigs.models import User, UserIdentity
from hotgigs.security import passwords
from hotgigs.security.oidc import ExternalIdentity, OidcVerifier
from hotgigs.security.oidc_providers import USERINFO
from hotgigs.security.sessions import SessionStore
from hotgigs.security.tokens import TokenService
from hotgigs.users import service as users_service
from hotgigs.validation import Validator

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class OAuthLoginIn:
    """A sign-in with a provider's token (`id_token`, or `access_token` as the original sent)."""

    provider: str
    id_token: str = ""
    access_token: str = ""
    nonce: str = ""
    user_type: str = ""


@dataclasses.dataclass(frozen=True)
class OAuthSignedIn:
    """The session opened, and whether the sign-in created the account or linked it."""

    signed_in: SignedIn
    created: bool
    linked: bool


@dataclasses.dataclass(frozen=True)
class Identities:
    """An account's linked identities and whether it has a password."""

    identities: list[UserIdentity]
    has_password: bool


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def oauth_login(session: Session, *, verifier: OidcVerifier, tokens: TokenService,
                sessions: SessionStore, oauth_in: OAuthLoginIn,
                actor: Principal | None) -> OAuthSignedIn:
    """Signs in (or up, or links) with a provider's token; see the module docstring."""
    provider = verifier.provider(oauth_in.provider)
    role = _role(oauth_in.user_type, required=False)  # a wrong value fails before any request
    token = oauth_in.access_token if provider.kind == USERINFO \
        else oauth_in.id_token or oauth_in.access_token
    external = verifier.identify(provider, token=token, nonce=oauth_in.nonce)
    row = queries.identity_for_update(session, provider=external.provider,
                                      subject=external.subject)
    if actor is not None:
        user = active_user(session, user_id=actor.user_id)
        if row is not None and row.user_id != user.id:
            raise AlreadyExists("This identity is linked to another account",
                                reason="IDENTITY_LINKED_ELSEWHERE")
        linked = row is None
        if row is None:
            row = _link(session, user, external, actor_user_id=user.id, via="signed_in")
        return _signed_in(session, user, row, tokens=tokens, sessions=sessions, linked=linked)
    if row is not None:
        user = active_user(session, user_id=row.user_id)
        return _signed_in(session, user, row, tokens=tokens, sessions=sessions)
    email = _email(external)
    existing = users_service.find_user(session, email=email) if email else None
    if existing is not None:
        return _link_by_email(session, existing, external, tokens=tokens, sessions=sessions)
    if email is None:
        raise FailedPrecondition("The provider gave no e-mail address: allow HotGigs to read it "
                                 "at the provider and try again", reason="OIDC_EMAIL_MISSING")
    _require_verified(external)
    role = role or _role("", required=True)
    if role is None:  # unreachable: _role raised already
        raise FailedPrecondition("A first sign-in needs user_type")
    return _create(session, external, email=email, role=role, tokens=tokens, sessions=sessions)


def list_identities(session: Session, *, actor: Principal) -> Identities:
    """The caller's linked identities, oldest first."""
    user = active_user(session, user_id=actor.user_id)
    return Identities(queries.identities_of(session, user_id=user.id),
                      passwords.is_usable(user.password_hash))


def unlink_identity(session: Session, *, actor: Principal, identity_id: int) -> None:
    """Removes one of the caller's identities, unless it is their last way to sign in."""
    # The account row locked: two unlinks at once cannot remove the last two identities.
    user = session.get(User, actor.user_id, with_for_update=True)
    if user is None or not user.is_active:
        raise Unauthenticated("This account is not available", reason="ACCOUNT_UNAVAILABLE")
    identities = queries.identities_of(session, user_id=user.id)
    row = next((identity for identity in identities if identity.id == identity_id), None)
    if row is None:
        raise NotFound("Identity not found")
    if len(identities) == 1 and not passwords.is_usable(user.password_hash):
        raise FailedPrecondition(
            "This is the account's only way to sign in: set a password first (forgot-password "
            "sends a link) or link another identity", reason="LAST_SIGN_IN_METHOD")
    queries.delete_identity(session, row)
    audit_service.record(
        session, actor_user_id=user.id, action="identity.unlink", target=f"user:{user.id}",
        details={"provider": row.provider, "identity_id": identity_id, "via": "api"})
    log.info("identity_unlinked", user_id=user.id, provider=row.provider)


# ---- helpers --------------------------------------------------------------------------------
def _link_by_email(session: Session, user: User, external: ExternalIdentity, *,
                   tokens: TokenService, sessions: SessionStore) -> OAuthSignedIn:
    _require_verified(external)
    if user.user_type == ADMIN:
        raise FailedPrecondition("An admin account is linked only by its signed-in owner: sign "
                                 "in with the password, then sign in with the provider",
                                 reason="OIDC_ADMIN_LINK_REFUSED")
    if not user.is_active:
        raise Unauthenticated("This account is not available", reason="ACCOUNT_UNAVAILABLE")
    reset = user.email_verified_at is None
    if reset:
        # Whoever registered this address never proved it; the provider just did. The
        # password they chose (and any session of theirs) must not survive into this account.
        user.password_hash = passwords.UNUSABLE_HASH
        user.email_verified_at = _now()
        sessions.revoke_all_for_user(session, user_id=user.id, reason="identity_linked")
    row = _link(session, user, external, actor_user_id=None, via="verified_email",
                password_cleared=reset)
    return _signed_in(session, user, row, tokens=tokens, sessions=sessions, linked=True)


def _create(session: Session, external: ExternalIdentity, *, email: str, role: str,
            tokens: TokenService, sessions: SessionStore) -> OAuthSignedIn:
    first, last = _names(external, email)
    user = User(email=email, password_hash=passwords.UNUSABLE_HASH, first_name=first,
                last_name=last, user_type=role, email_verified_at=_now())
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # a concurrent sign-up with this address won the race
        raise AlreadyExists("An account with this email was just created; sign in again",
                            reason="EMAIL_TAKEN") from None
    if role == CANDIDATE:
        users_service.create_candidate_profile(session, user_id=user.id)
    row = _link(session, user, external, actor_user_id=user.id, via="sign_up")
    log.info("user_registered", user_id=user.id, user_type=role, provider=external.provider)
    signed = _signed_in(session, user, row, tokens=tokens, sessions=sessions)
    return dataclasses.replace(signed, created=True)


def _link(session: Session, user: User, external: ExternalIdentity, *,
          actor_user_id: int | None, via: str, password_cleared: bool = False) -> UserIdentity:
    row = UserIdentity(user_id=user.id, provider=external.provider, subject=external.subject,
                       email=_email(external))
    try:
        queries.add_identity(session, row)
    except IntegrityError:  # a concurrent sign-in linked it first
        raise AlreadyExists("This identity was just linked by another sign-in; try again",
                            reason="IDENTITY_LINKED_ELSEWHERE") from None
    audit_service.record(
        session, actor_user_id=actor_user_id, action="identity.link", target=f"user:{user.id}",
        details={"provider": external.provider, "identity_id": row.id, "via": via,
                 "password_cleared": password_cleared})
    log.info("identity_linked", user_id=user.id, provider=external.provider, via=via)
    return row


def _signed_in(session: Session, user: User, row: UserIdentity, *, tokens: TokenService,
               sessions: SessionStore, linked: bool = False) -> OAuthSignedIn:
    now = _now()
    row.last_used_at = now
    user.last_login_at = now
    audit_service.record(session, actor_user_id=user.id, action="auth.login",
                         target=f"user:{user.id}", details={"provider": row.provider})
    log.info("user_logged_in", user_id=user.id, provider=row.provider)
    return OAuthSignedIn(start_session(session, user=user, tokens=tokens, sessions=sessions),
                         created=False, linked=linked)


def _require_verified(external: ExternalIdentity) -> None:
    if not external.email_verified:
        raise FailedPrecondition(
            "The provider has not verified this e-mail address, so it cannot open or link a "
            "HotGigs account: verify it at the provider, or sign in to your account and then "
            "sign in with the provider to link it", reason="OIDC_EMAIL_NOT_VERIFIED")


def _email(external: ExternalIdentity) -> str | None:
    email = (external.email or "").strip().lower()
    return email if validation.is_email(email) else None


def _role(user_type: str, *, required: bool) -> str | None:
    check = Validator()
    role = check.choice("user_type", user_type.strip().lower(), SELF_REGISTERABLE_ROLES,
                        aliases=ROLE_ALIASES, required=required)
    if required and check.violations:
        check.violations[0] = dataclasses.replace(
            check.violations[0], description="is required for a first sign-in (candidate, "
                                             "company or recruiter)")
    check.check("A first sign-in needs user_type" if required else "user_type is invalid")
    return role


def _names(external: ExternalIdentity, email: str) -> tuple[str, str]:
    """First and last name from the provider's claims (made safe), else the address's local
    part."""
    first, last = _clean(external.given_name), _clean(external.family_name)
    if not first and external.name:
        whole = _clean(external.name)
        first, _, rest = whole.partition(" ")
        last = last or rest.strip()
    return (first or email.split("@")[0][:limits.NAME]), last


def _clean(value: str | None) -> str:
    if not value or validation.has_control_characters(value, multiline=False):
        return ""
    return validation.strip_markup(value[:limits.NAME * 4]).strip()[:limits.NAME]
