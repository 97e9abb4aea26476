"""Service-account API keys: their format, their hash, and the check on every call.

A key is `hg_<prefix>_<secret><tag>`: a 12-character public prefix (the look-up key, shown in
lists), 43 characters of secret (32 random bytes) and an 8-character tag. With the server's
pepper (`HOTGIGS_API_KEY_PEPPER`), h = HMAC-SHA-256(pepper, "hg_<prefix>_<secret>"); the row
keeps h (`key_hash`), the key carries h's first 6 bytes as its tag. So one HMAC per call
checks both: a key whose tag does not match (garbage, guessed, tampered) is refused before any
look-up, in constant work, and a matching one is compared with the stored hash in constant time.

`ApiKeys.authenticate` keeps each key's row (with its account and owner) for at most
`AUTH_USER_STATE_TTL_SECONDS` per worker, like `AccessState`: a revocation, expiry or owner
deactivation holds everywhere within that bound while a busy key costs no query. When the row is
read again and its `last_used_at` is over `LAST_USED_RESOLUTION_SECONDS` old, one guarded
UPDATE moves it: at most one write per key per minute (the guard holds across workers), never
one per request.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from typing import Final

import sqlalchemy as sa

from hotgigs.context import Principal
from hotgigs.db import Database
from hotgigs.errors import Unauthenticated
from hotgigs.models import ServiceAccount, ServiceAccountKey, User

SCHEME: Final = "hg_"
PREFIX_LENGTH: Final = 12
SECRET_LENGTH: Final = 43  # token_urlsafe(32)
TAG_BYTES: Final = 6
TAG_LENGTH: Final = 8  # base64url of 6 bytes
KEY_LENGTH: Final = len(SCHEME) + PREFIX_LENGTH + 1 + SECRET_LENGTH + TAG_LENGTH
_PREFIX_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz234567"
LAST_USED_RESOLUTION_SECONDS: Final = 60
MAX_ENTRIES: Final = 100_000

INVALID: Final = "API_KEY_INVALID"
REVOKED: Final = "API_KEY_REVOKED"
EXPIRED: Final = "API_KEY_EXPIRED"
DISABLED: Final = "API_KEYS_DISABLED"
OWNER_UNAVAILABLE: Final = "ACCOUNT_UNAVAILABLE"


@dataclasses.dataclass(frozen=True)
class MintedKey:
    """A new key: `key` goes to the caller once, the rest into the table."""

    key: str
    prefix: str
    key_hash: bytes


def _digest(pepper: bytes, body: str) -> bytes:
    return hmac.new(pepper, body.encode("ascii"), hashlib.sha256).digest()


def _tag(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest[:TAG_BYTES]).decode("ascii")


def mint(pepper: str) -> MintedKey:
    """A fresh random key and its hash."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    body = f"{SCHEME}{prefix}_{secrets.token_urlsafe(32)}"
    digest = _digest(pepper.encode(), body)
    return MintedKey(key=body + _tag(digest), prefix=prefix, key_hash=digest)


def checked(pepper: bytes, key: str) -> tuple[str, bytes] | None:
    """(prefix, hash) of a well-formed key whose tag matches; None for anything else.
    Constant work: a length and shape check, then one HMAC of a fixed-size body."""
    if len(key) != KEY_LENGTH or not key.startswith(SCHEME) or not key.isascii():
        return None
    body, tag = key[:-TAG_LENGTH], key[-TAG_LENGTH:]
    if body[len(SCHEME) + PREFIX_LENGTH] != "_":
        return None
    digest = _digest(pepper, body)
    if not hmac.compare_digest(_tag(digest), tag):
        return None
    return body[len(SCHEME):len(SCHEME) + PREFIX_LENGTH], digest


def api_key(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key of `authorization: ApiKey <key>` or `x-api-key: <key>`, or None."""
    if x_api_key is not None:
        return x_api_key.strip()
    if authorization is None:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    return value.strip() if scheme.lower() == "apikey" else None


@dataclasses.dataclass(frozen=True)
class _Row:
    key_id: int
    account_id: int
    key_hash: bytes
    expires_at: float  # epoch seconds
    revoked: bool
    owner_id: int
    owner_role: str
    owner_active: bool
    scopes: frozenset[str]


@dataclasses.dataclass(frozen=True)
class _Entry:
    row: _Row | None  # None: no such key
    until: float  # monotonic time after which the row is read again


class ApiKeys:
    """Verifies presented keys; per-worker cache of key rows with bounded staleness."""

    def __init__(self, database: Database, pepper: str | None, *, ttl_seconds: float,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self.enabled = pepper is not None
        self._pepper = (pepper or "").encode()
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.wall_clock = wall_clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def authenticate(self, key: str) -> tuple[Principal, frozenset[str]]:
        """The principal a key acts as (its account's owner) and the account's scopes;
        `Unauthenticated` for every other case, with a reason and no detail."""
        if not self.enabled:
            raise Unauthenticated("API keys are not enabled on this server", reason=DISABLED)
        found = checked(self._pepper, key)
        if found is None:
            raise Unauthenticated("Invalid API key", reason=INVALID)
        prefix, digest = found
        now = self.clock()
        entry = self._entries.get(prefix)
        if entry is None or entry.until <= now:
            entry = _Entry(self._load(prefix), now + self.ttl_seconds)
            self._remember(prefix, entry, now)
        row = entry.row
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            raise Unauthenticated("Invalid API key", reason=INVALID)
        if row.revoked:
            raise Unauthenticated("This API key has been revoked", reason=REVOKED)
        if row.expires_at <= self.wall_clock():
            raise Unauthenticated("This API key has expired", reason=EXPIRED)
        if not row.owner_active:
            raise Unauthenticated("This account is not available", reason=OWNER_UNAVAILABLE)
        return Principal(user_id=row.owner_id, role=row.owner_role, session_id="",
                         token_id=f"key:{row.key_id}", service_account_id=row.account_id), row.scopes

    def forget(self, prefixes: list[str]) -> None:
        """Drop cached rows (this worker revoked these keys)."""
        with self._lock:
            for prefix in prefixes:
                self._entries.pop(prefix, None)

    def _remember(self, prefix: str, entry: _Entry, now: float) -> None:
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries = {k: v for k, v in self._entries.items() if v.until > now}
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
            self._entries[prefix] = entry

    def _load(self, prefix: str) -> _Row | None:
        with self.database.session_scope() as session:
            found = session.execute(
                sa.select(ServiceAccountKey.id, ServiceAccountKey.account_id,
                          ServiceAccountKey.key_hash, ServiceAccountKey.expires_at,
                          ServiceAccountKey.revoked_at, ServiceAccountKey.last_used_at,
                          ServiceAccount.owner_id, ServiceAccount.scopes, User.user_type,
                          User.is_active)
                .join(ServiceAccount, ServiceAccount.id == ServiceAccountKey.account_id)
                .join(User, User.id == ServiceAccount.owner_id)
                .where(ServiceAccountKey.prefix == prefix)).first()
            if found is None:
                return None
            row = _Row(key_id=found.id, account_id=found.account_id, key_hash=bytes(found.key_hash),
                       expires_at=found.expires_at.timestamp(), revoked=found.revoked_at is not None,
                       owner_id=found.owner_id, owner_role=found.user_type,
                       owner_active=bool(found.is_active), scopes=frozenset(found.scopes))
            stale = dt.datetime.fromtimestamp(self.wall_clock() - LAST_USED_RESOLUTION_SECONDS, dt.UTC)
            if found.last_used_at is None or found.last_used_at < stale:
                session.execute(
                    sa.update(ServiceAccountKey)
                    .where(ServiceAccountKey.id == found.id,
                           sa.or_(ServiceAccountKey.last_used_at.is_(None),
                                  ServiceAccountKey.last_used_at < stale))
                    .values(last_used_at=sa.func.now()))
        return row
