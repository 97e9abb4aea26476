"""Service accounts: create one with its first key, list them, add a key (rotation), revoke a
key. Each leaves an audit log entry in the same transaction. Plain Python on a session.

A key is shown once, in the answer that makes it; the table keeps its hash
(`hotgigs.security.api_keys`). `actor` None is the operator at the server's console
(`hotgigs service-account`), recorded as such.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Final

from sqlalchemy.orm import Session

from hotgigs import manifest
from hotgigs.audit import service as audit_service
from hotgigs.context import Principal
from hotgigs.core.rpc import ADMIN
from hotgigs.errors import AlreadyExists, FailedPrecondition, NotFound, PermissionDenied
from hotgigs.models import ServiceAccount, ServiceAccountKey
from hotgigs.security import api_keys
from hotgigs.service_accounts import queries
from hotgigs.users import service as users_service
from hotgigs.validation import Validator

NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]{1,62}[a-z0-9]")
DEFAULT_DAYS: Final = 90
MAX_DAYS: Final = 730
MAX_SCOPES: Final = 200


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountIn:
    """A new account: its name, owner, scopes and its first key's lifetime (0: default)."""

    name: str
    owner_id: int
    scopes: tuple[str, ...]
    expires_in_days: int = 0


@dataclasses.dataclass(frozen=True, kw_only=True)
class KeyIn:
    """A new key for an account (0 days: default)."""

    account_id: int
    expires_in_days: int = 0


@dataclasses.dataclass(frozen=True)
class Issued:
    """A new key: `key` is the secret (shown once), `row` its listing."""

    key: str
    row: ServiceAccountKey


@dataclasses.dataclass(frozen=True)
class Account:
    """An account and its keys, newest first."""

    row: ServiceAccount
    keys: list[ServiceAccountKey]


def _require_admin(actor: Principal | None) -> None:
    if actor is not None and actor.role != ADMIN:
        raise PermissionDenied("Only admins manage service accounts", reason="ROLE_FORBIDDEN")


def _require_pepper(pepper: str | None) -> str:
    if pepper is None:
        raise FailedPrecondition("API keys are off on this server: set HOTGIGS_API_KEY_PEPPER",
                                 reason=api_keys.DISABLED)
    return pepper


def _days(check: Validator, field: str, days: int) -> int:
    if days == 0:
        return DEFAULT_DAYS
    if not 1 <= days <= MAX_DAYS:
        check.fail(field, f"range: between 1 and {MAX_DAYS} days (0: {DEFAULT_DAYS})")
    return days


def _actor_id(actor: Principal | None) -> int | None:
    return None if actor is None else actor.user_id


def _issue(session: Session, *, pepper: str, account_id: int, days: int) -> Issued:
    minted = api_keys.mint(pepper)
    row = ServiceAccountKey(account_id=account_id, prefix=minted.prefix, key_hash=minted.key_hash,
                            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=days))
    queries.add(session, row)
    return Issued(minted.key, row)


def create(session: Session, *, actor: Principal | None, pepper: str | None,
           account_in: AccountIn) -> tuple[Account, Issued]:
    """A new account and its first key."""
    _require_admin(actor)
    secret = _require_pepper(pepper)
    check = Validator()
    if not NAME.fullmatch(account_in.name):
        check.fail("name", "format: 3 to 64 of a-z, 0-9 and dashes, starting and ending with a "
                  "letter or digit")
    scopes: list[str] = []
    if not account_in.scopes or len(account_in.scopes) > MAX_SCOPES:  # before any per-item work
        check.fail("scopes", f"count: between 1 and {MAX_SCOPES} scopes")
    else:
        scopes = sorted(set(account_in.scopes))
    unknown = [scope for scope in scopes if scope not in manifest.SCOPE_NAMES][:5]
    if unknown:
        check.fail("scopes", f"unknown: {', '.join(s[:64] for s in unknown)} (use <module>.read, "
                  "<module>.write or Service.Method)")
    days = _days(check, "expires_in_days", account_in.expires_in_days)
    owner = users_service.find_user(session, user_id=account_in.owner_id) \
        if account_in.owner_id > 0 else None
    if owner is None or not owner.is_active:
        check.fail("owner_id", "exists: no active user has this id")
    check.check()
    if queries.name_taken(session, account_in.name):
        raise AlreadyExists("A service account has this name", reason="NAME_TAKEN")
    account = ServiceAccount(name=account_in.name, owner_id=account_in.owner_id, scopes=scopes,
                             created_by=_actor_id(actor))
    queries.add(session, account)
    issued = _issue(session, pepper=secret, account_id=account.id, days=days)
    audit_service.record(
        session, actor_user_id=_actor_id(actor), action="service_account.create",
        target=f"service_account:{account.id}",
        details={"name": account.name, "owner_id": account.owner_id, "scopes": scopes,
                 "key_prefix": issued.row.prefix, "via": audit_service.via(actor)})
    return Account(account, [issued.row]), issued


def list_accounts(session: Session, *, actor: Principal | None) -> list[Account]:
    """Every account with its keys (no secrets: there are none to show)."""
    _require_admin(actor)
    rows = queries.accounts(session)
    keys: dict[int, list[ServiceAccountKey]] = {row.id: [] for row in rows}
    for key in queries.keys_of(session, list(keys)):
        keys[key.account_id].append(key)
    return [Account(row, keys[row.id]) for row in rows]


def _account_or_raise(session: Session, account_id: int) -> ServiceAccount:
    account = queries.get_account(session, account_id) if account_id > 0 else None
    if account is None:
        raise NotFound("Service account not found")
    return account


def rotate(session: Session, *, actor: Principal | None, pepper: str | None,
           key_in: KeyIn) -> Issued:
    """A new key for the account; its other keys keep working until revoked or expired."""
    _require_admin(actor)
    secret = _require_pepper(pepper)
    check = Validator()
    days = _days(check, "expires_in_days", key_in.expires_in_days)
    check.check()
    account = _account_or_raise(session, key_in.account_id)
    issued = _issue(session, pepper=secret, account_id=account.id, days=days)
    audit_service.record(
        session, actor_user_id=_actor_id(actor), action="service_account.key_create",
        target=f"service_account:{account.id}",
        details={"key_prefix": issued.row.prefix, "via": audit_service.via(actor)})
    return issued


def revoke(session: Session, *, actor: Principal | None, account_id: int,
           key_id: int) -> ServiceAccountKey:
    """Revoke one key (again: no change)."""
    _require_admin(actor)
    account = _account_or_raise(session, account_id)
    key = queries.get_key(session, account.id, key_id) if key_id > 0 else None
    if key is None:
        raise NotFound("API key not found")
    if key.revoked_at is None:
        key.revoked_at = dt.datetime.now(dt.UTC)
        audit_service.record(
            session, actor_user_id=_actor_id(actor), action="service_account.key_revoke",
            target=f"service_account:{account.id}",
            details={"key_prefix": key.prefix, "via": audit_service.via(actor)})
    return key


def find_account(session: Session, *, name: str) -> Account | None:
    """An account by name, with its keys (the CLI's look-up)."""
    for account in list_accounts(session, actor=None):
        if account.row.name == name:
            return account
    return None
