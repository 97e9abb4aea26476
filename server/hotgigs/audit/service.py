"""The audit log: `record` is the one way every module writes a security event; admins list
entries; `prune` deletes those past the retention (AUDIT_LOG_RETENTION_DAYS).

Actions (`<area>.<verb>`): auth.login, auth.login_failed, auth.login_throttled,
auth.password_change, auth.password_reset, company.member_add, company.member_remove,
company.invite, service_account.create, service_account.key_create,
service_account.key_revoke, identity.link, identity.unlink, cache.clear,
cache.refresh_views, privacy.export, privacy.erase.

`record` keeps secrets out of `details`: a value under a name such as password, token, secret,
key, hash or authorization is replaced by "[redacted]", and so is any text that looks like a
JWT or an API key, wherever it is; nesting, sizes and lengths are bounded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.orm import Session

from hotgigs.audit import queries
from hotgigs.context import Principal
from hotgigs.core import pagination
from hotgigs.models import AuditEntry
from hotgigs.validation import Validator

REDACTED: Final = "[redacted]"
SECRET_NAME: Final = re.compile(
    r"pass|secret|token|authorization|cookie|credential|pepper|hash|(^|_)key$", re.IGNORECASE)
SECRET_TEXT: Final = re.compile(
    r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*|hg_[A-Za-z0-9]{8,}_[A-Za-z0-9_-]+"
    r"|(?i:bearer|apikey)\s+\S+")
ACTION: Final = re.compile(r"[a-z_]{1,30}(\.[a-z_]{1,30})?\.?")
MAX_DEPTH, MAX_ITEMS, MAX_TEXT = 4, 50, 512
PRUNE_BATCH: Final = 5000


def _clean(value: Any, depth: int = 0) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return SECRET_TEXT.sub(REDACTED, value[:MAX_TEXT].replace("\x00", ""))
    if depth >= MAX_DEPTH:
        return "[nested too deep]"
    if isinstance(value, dict):
        return {str(name)[:64]: REDACTED if SECRET_NAME.search(str(name)) else _clean(item, depth + 1)
                for name, item in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(item, depth + 1) for item in list(value)[:MAX_ITEMS]]
    return _clean(str(value), depth)


def scrub(details: Mapping[str, object] | None) -> dict[str, Any]:
    """`details` without secrets, bounded (see the module docstring)."""
    cleaned = _clean(dict(details or {}))
    return cleaned if isinstance(cleaned, dict) else {}


def via(actor: Principal | None) -> str:
    """How an actor called, for `details["via"]`: the console (None), an API key, or a user."""
    if actor is None:
        return "cli"
    return "api_key" if actor.service_account_id is not None else "api"


def record(session: Session, *, actor_user_id: int | None, action: str, target: str,
           details: Mapping[str, object] | None = None) -> None:
    """Write one event in the caller's transaction (so it stands or falls with the change)."""
    if not ACTION.fullmatch(action) or action.endswith(".") or "." not in action:
        raise ValueError(f"audit action {action!r}: expected <area>.<verb>")
    queries.insert(session, actor_user_id=actor_user_id, action=action,
                   target=SECRET_TEXT.sub(REDACTED, target.replace("\x00", ""))[:128],
                   details=scrub(details))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ListIn:
    """A listing's filters and page, as the request gave them."""

    actor_user_id: int | None = None
    action: str = ""
    target: str = ""
    since: str = ""
    until: str = ""
    limit: int | None = None
    offset: int = 0


@dataclasses.dataclass(frozen=True)
class Page:
    entries: list[AuditEntry]
    total: int
    limit: int
    offset: int


def _instant(check: Validator, field: str, text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text) if len(text) <= 40 else None
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        check.fail(field, "expected an RFC 3339 instant with a zone, e.g. 2026-12-01T00:00:00Z")
        return None
    return value


def list_entries(session: Session, *, actor: Principal, list_in: ListIn) -> Page:
    """A page of the audit log, newest first (the policy admits admins only)."""
    del actor  # admins only, checked by the policy table
    check = Validator()
    size = pagination.limit(check, list_in.limit)
    offset = pagination.offset(check, list_in.offset)
    if list_in.action and not ACTION.fullmatch(list_in.action):
        check.fail("action", "expected an action like auth.login, or a prefix like auth.")
    if len(list_in.target) > 128:
        check.fail("target", "at most 128 characters")
    if list_in.actor_user_id is not None and list_in.actor_user_id < 1:
        check.fail("actor_user_id", "must be a user id (1 or more)")
    since = _instant(check, "since", list_in.since)
    until = _instant(check, "until", list_in.until)
    if since is not None and until is not None and since >= until:
        check.fail("until", "must be after since")
    check.check("Audit log filters are invalid")
    rows, total = queries.page(session, queries.Filter(
        actor_user_id=list_in.actor_user_id, action=list_in.action, target=list_in.target,
        since=since, until=until), limit=size, offset=offset)
    return Page(rows, total, size, offset)


def entries_about(session: Session, *, target: str) -> list[AuditEntry]:
    """Every entry about `target`, oldest first."""
    return queries.about(session, target)


def prune(session: Session, *, older_than: dt.datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete up to `batch` entries created before `older_than`; how many went."""
    return queries.delete_older(session, older_than, batch)


def forget_person(session: Session, *, user_id: int, email: str) -> None:
    """Before an erasure: entries keep `user:<id>` but lose the e-mail and client addresses."""
    queries.forget(session, user_id=user_id, email=email)
