"""Encryption at rest: envelope encryption with AES-256-GCM (the `cryptography` package).

Key-encryption keys (KEKs) come from HOTGIGS_ENCRYPTION_KEKS (`Settings.encryption_keks`), each
with an id; the first one wraps, every one unwraps, so a new KEK can be put in front and the
data moved to it (`hotgigs keys rotate`) while the old one still reads what it wrapped.

Documents: a random 256-bit data key per document encrypts its bytes (and its extracted text);
the data key is stored wrapped by a KEK, with the KEK's id and the nonce, in the row. Every
AES-GCM operation binds a context (associated data) naming what it protects and the document's
id, so a ciphertext, a nonce or a wrapped key copied to another row does not decrypt there.

Columns (`SealedColumn`): short personal values are sealed as one blob
    0x01 | len(kek id) | kek id | nonce (12) | ciphertext + tag
under a key derived from the KEK (HKDF-SHA256), bound to the column's name. 0x00 | UTF-8 is a
legacy plain value written before encryption: read as is, sealed by `hotgigs keys rotate`.

A check value per KEK (HMAC-SHA256 of a fixed label, 16 bytes) is kept in the database
(`encryption_keys`): a process whose KEK has the same id but other bytes refuses to start.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
from collections.abc import Sequence
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hotgigs.settings import Kek

NONCE_BYTES: Final = 12
KEY_BYTES: Final = 32
WRAPPED_BYTES: Final = NONCE_BYTES + KEY_BYTES + 16  # nonce | key | tag
LEGACY: Final = 0x00  # a column value written before encryption (plain UTF-8 follows)
SEALED: Final = 0x01
_CHECK_LABEL: Final = b"hotgigs key check value v1"
_COLUMN_INFO: Final = b"hotgigs column key v1"


class DecryptionFailed(Exception):
    """A ciphertext, wrapped key or sealed value failed authentication: tampered with, moved
    to another row, or made under other key material with the same id."""


class UnknownKek(Exception):
    """Data wrapped under a KEK id this process is not configured with."""

    def __init__(self, kek_id: str) -> None:
        super().__init__(f"data is wrapped under key-encryption key {kek_id!r}, which "
                         "HOTGIGS_ENCRYPTION_KEKS does not hold")
        self.kek_id = kek_id


def check_value(kek: Kek) -> bytes:
    """16 bytes that identify the KEK's material without revealing it."""
    return hmac.new(kek.material, _CHECK_LABEL, hashlib.sha256).digest()[:16]


@dataclasses.dataclass(frozen=True)
class Envelope:
    """A document's wrapped data key: which KEK wrapped it, and `nonce | wrapped key | tag`."""

    kek_id: str
    wrapped_key: bytes


def document_context(kind: str, document_id: int) -> bytes:
    """The associated data of one document's `kind` ("content", "text", "key")."""
    return f"hotgigs/document/{kind}/v1:{document_id}".encode()


def encrypt(data_key: bytes, plaintext: bytes, *, context: bytes) -> tuple[bytes, bytes]:
    """(nonce, ciphertext with its tag) of `plaintext` under `data_key`."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce, AESGCM(data_key).encrypt(nonce, plaintext, context)


def decrypt(data_key: bytes, nonce: bytes, ciphertext: bytes, *, context: bytes) -> bytes:
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext, context)
    except (InvalidTag, ValueError):
        raise DecryptionFailed("the ciphertext failed its integrity check") from None


class KeyRing:
    """The configured KEKs: the first wraps and seals, all unwrap and open."""

    def __init__(self, keks: Sequence[Kek]) -> None:
        if not keks:
            raise ValueError("a key ring needs at least one key-encryption key")
        self._keks = {kek.id: kek for kek in keks}
        self.current_id = keks[0].id
        self._aead = {kek.id: AESGCM(kek.material) for kek in keks}
        self._column_aead = {kek.id: AESGCM(HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES,
                                                 salt=None, info=_COLUMN_INFO).derive(kek.material))
                             for kek in keks}

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._keks)

    def check_values(self) -> dict[str, bytes]:
        return {kek_id: check_value(kek) for kek_id, kek in self._keks.items()}

    # ---- documents: data keys wrapped by a KEK ----
    def new_data_key(self) -> bytes:
        return AESGCM.generate_key(bit_length=KEY_BYTES * 8)

    def wrap(self, data_key: bytes, *, document_id: int) -> Envelope:
        """`data_key` wrapped under the current KEK, bound to the document and the KEK id."""
        nonce = os.urandom(NONCE_BYTES)
        aad = document_context("key", document_id) + b":" + self.current_id.encode()
        return Envelope(self.current_id,
                        nonce + self._aead[self.current_id].encrypt(nonce, data_key, aad))

    def unwrap(self, envelope: Envelope, *, document_id: int) -> bytes:
        aead = self._aead.get(envelope.kek_id)
        if aead is None:
            raise UnknownKek(envelope.kek_id)
        wrapped = envelope.wrapped_key
        aad = document_context("key", document_id) + b":" + envelope.kek_id.encode()
        try:
            return aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
        except (InvalidTag, ValueError):
            raise DecryptionFailed("the document's data key failed its integrity check") from None

    def rewrap(self, envelope: Envelope, *, document_id: int) -> Envelope:
        """The same data key wrapped under the current KEK (the document's bytes stay)."""
        return self.wrap(self.unwrap(envelope, document_id=document_id), document_id=document_id)

    # ---- columns: short values sealed whole ----
    def seal(self, plaintext: bytes, *, context: str) -> bytes:
        kek_id = self.current_id.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._column_aead[self.current_id].encrypt(nonce, plaintext,
                                                            _column_aad(context))
        return bytes((SEALED, len(kek_id))) + kek_id + nonce + sealed

    def open(self, blob: bytes, *, context: str) -> bytes:
        """The plaintext of a sealed value (or of a legacy plain one)."""
        if blob[:1] == bytes((LEGACY,)):
            return blob[1:]
        kek_id = sealed_under(blob)
        if kek_id is None:
            raise DecryptionFailed(f"{context}: not a sealed value")
        aead = self._column_aead.get(kek_id)
        if aead is None:
            raise UnknownKek(kek_id)
        start = 2 + blob[1]
        try:
            return aead.decrypt(blob[start:start + NONCE_BYTES], blob[start + NONCE_BYTES:],
                                _column_aad(context))
        except (InvalidTag, ValueError):
            raise DecryptionFailed(f"{context}: the sealed value failed its integrity check") from None


def _column_aad(context: str) -> bytes:
    return f"hotgigs/column/v1:{context}".encode()


def sealed_under(blob: bytes) -> str | None:
    """The KEK id a sealed column value names; None for a legacy plain value."""
    if len(blob) < 2 or blob[0] != SEALED or len(blob) < 2 + blob[1] + NONCE_BYTES + 16:
        return None
    return blob[2:2 + blob[1]].decode("ascii", errors="replace")


def legacy(plaintext: bytes) -> bytes:
    """A plain column value as the migration stores what was there before encryption."""
    return bytes((LEGACY,)) + plaintext
