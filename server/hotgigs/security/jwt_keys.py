"""The JWT signing key set: several HS256 keys, each with a key id (`kid`), one of them signing.

A new key signs while the older ones still verify, so a rotation logs no one out; a retired
key verifies nothing, so its tokens are refused at once. The set lives in a JSON file
(`JWT_KEYS_FILE`, mode 0600/0640, beside the environment file; Ansible templates it from the
vault), which `hotgigs keys jwt-*` edits:

    {"signing_kid": "2026-12-05-k3f9",
     "keys": [{"kid": "2026-12-05-k3f9", "secret": "<64 random characters>",
               "created_at": "2026-12-05T00:00:00+00:00"},
              {"kid": "2026-06-01-a0b1", "secret": "...", "created_at": "...",
               "retired_at": "2026-12-06T00:00:00+00:00"}]}

`signing_kid` may be absent (a key added on every host first, activated once all know it):
then `JWT_SECRET_KEY` signs, without a kid, as before key sets existed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

KID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MIN_SECRET_LENGTH = 32
MAX_KEYS = 50
MAX_FILE_BYTES = 256 * 1024


class KeySetError(ValueError):
    """The key set file or an edit of it is wrong; the message says what."""


@dataclasses.dataclass(frozen=True)
class SigningKey:
    """One key: its id, secret, when it was made and (once retired) when it was retired."""

    kid: str
    secret: str = dataclasses.field(repr=False)
    created_at: str
    retired_at: str | None = None

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


@dataclasses.dataclass(frozen=True)
class KeySet:
    """The keys, in the file's order, and which one signs (None: `JWT_SECRET_KEY`)."""

    keys: tuple[SigningKey, ...] = ()
    signing_kid: str | None = None

    def find(self, kid: str) -> SigningKey | None:
        return next((key for key in self.keys if key.kid == kid), None)

    @property
    def signing(self) -> SigningKey | None:
        return None if self.signing_kid is None else self.find(self.signing_kid)

    def add(self, *, now: dt.datetime | None = None, activate: bool = False) -> tuple[KeySet, SigningKey]:
        """A new random key (verifying at once; signing if `activate`)."""
        if len(self.keys) >= MAX_KEYS:
            raise KeySetError(f"the key set holds {MAX_KEYS} keys already; remove retired ones")
        moment = now or dt.datetime.now(dt.UTC)
        kid = f"{moment:%Y-%m-%d}-{secrets.token_hex(3)}"
        while self.find(kid) is not None:  # pragma: no cover - 1 in 16 million
            kid = f"{moment:%Y-%m-%d}-{secrets.token_hex(3)}"
        key = SigningKey(kid=kid, secret=secrets.token_urlsafe(48),
                         created_at=moment.isoformat(timespec="seconds"))
        updated = dataclasses.replace(self, keys=(*self.keys, key))
        return (updated.activate(kid) if activate else updated), key

    def activate(self, kid: str) -> KeySet:
        """Sign new tokens with `kid` (every host must know it first)."""
        key = self._existing(kid)
        if key.retired:
            raise KeySetError(f"key {kid} is retired; add a new key instead")
        return dataclasses.replace(self, signing_kid=kid)

    def retire(self, kid: str, *, now: dt.datetime | None = None) -> KeySet:
        """Stop verifying `kid`: every token it signed is refused from the next start on."""
        key = self._existing(kid)
        if kid == self.signing_kid:
            raise KeySetError(f"key {kid} signs new tokens; activate another key first")
        if key.retired:
            return self
        moment = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
        return dataclasses.replace(self, keys=tuple(
            dataclasses.replace(k, retired_at=moment) if k.kid == kid else k for k in self.keys))

    def _existing(self, kid: str) -> SigningKey:
        key = self.find(kid)
        if key is None:
            raise KeySetError(f"no key {kid!r} in the key set")
        return key

    def to_json(self) -> str:
        document: dict[str, Any] = {}
        if self.signing_kid is not None:
            document["signing_kid"] = self.signing_kid
        document["keys"] = [{k: v for k, v in dataclasses.asdict(key).items() if v is not None}
                            for key in self.keys]
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> KeySet:
        """Parse and check a key set document; every problem is a `KeySetError`."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise KeySetError(f"not JSON ({error.msg} at line {error.lineno})") from None
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise KeySetError('expected an object {"signing_kid": ..., "keys": [...]}')
        unknown = sorted(set(document) - {"signing_kid", "keys"})
        if unknown:
            raise KeySetError(f"unknown field(s) {', '.join(unknown)}")
        if len(document["keys"]) > MAX_KEYS:
            raise KeySetError(f"more than {MAX_KEYS} keys")
        keys = tuple(_key(index, entry) for index, entry in enumerate(document["keys"]))
        kids = [key.kid for key in keys]
        duplicates = sorted({kid for kid in kids if kids.count(kid) > 1})
        if duplicates:
            raise KeySetError(f"key id(s) used twice: {', '.join(duplicates)}")
        signing_kid = document.get("signing_kid")
        if signing_kid is not None:
            if not isinstance(signing_kid, str) or signing_kid not in kids:
                raise KeySetError(f"signing_kid {signing_kid!r} is not one of the keys")
            if keys[kids.index(signing_kid)].retired:
                raise KeySetError(f"signing_kid {signing_kid} is retired")
        return cls(keys=keys, signing_kid=signing_kid)


def _key(index: int, entry: object) -> SigningKey:
    where = f"keys[{index}]"
    if not isinstance(entry, dict):
        raise KeySetError(f"{where}: expected an object with kid, secret, created_at")
    unknown = sorted(set(entry) - {"kid", "secret", "created_at", "retired_at"})
    if unknown:
        raise KeySetError(f"{where}: unknown field(s) {', '.join(unknown)}")
    kid, secret = entry.get("kid"), entry.get("secret")
    if not isinstance(kid, str) or not KID_PATTERN.match(kid):
        raise KeySetError(f"{where}.kid: expected 1-64 of A-Z a-z 0-9 . _ -")
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        raise KeySetError(f"{where} ({kid}): the secret must be {MIN_SECRET_LENGTH}+ characters")
    created_at, retired_at = entry.get("created_at", ""), entry.get("retired_at")
    if not isinstance(created_at, str) or not (retired_at is None or isinstance(retired_at, str)):
        raise KeySetError(f"{where} ({kid}): created_at and retired_at are ISO 8601 text")
    return SigningKey(kid=kid, secret=secret, created_at=created_at, retired_at=retired_at)


def load(path: Path) -> KeySet:
    """Read the key set file; a missing, huge or malformed file is a `KeySetError`."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise KeySetError(f"{path}: no such file") from None
    except OSError as error:
        raise KeySetError(f"{path}: {error.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise KeySetError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        return KeySet.from_json(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise KeySetError(f"{path}: not UTF-8 text") from None
    except KeySetError as error:
        raise KeySetError(f"{path}: {error}") from None


def save(path: Path, key_set: KeySet) -> None:
    """Write the file atomically, readable by its owner only (0600) unless it existed."""
    existing = path.stat() if path.exists() else None
    mode = existing.st_mode & 0o777 if existing else 0o600
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(key_set.to_json())
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)  # O_CREAT's mode is masked by the umask
        if existing is not None and (existing.st_uid, existing.st_gid) != (os.getuid(), os.getgid()):
            os.chown(temporary, existing.st_uid, existing.st_gid)  # e.g. root:hotgigs 0640
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
