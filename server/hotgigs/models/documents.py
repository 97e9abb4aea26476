"""Uploaded files: resumes, cover letters, certificates... (documents and ai modules).

The bytes live in `documents.content` (bytea, TOASTed out of line by PostgreSQL). The column is
deferred with raiseload: a listing never drags megabytes along, and code that needs the bytes
asks for them with `options(undefer(Document.content))`.

Encrypted at rest (`hotgigs.security.encryption`): `content` and `extracted_text` are AES-GCM
ciphertexts under the document's own data key, stored wrapped (`wrapped_key`) by the
key-encryption key `kek_id`; `content_nonce` is the content's nonce (the text's ciphertext
starts with its own). A row with `kek_id` NULL was stored before encryption: its content and
text are plain (UTF-8) until `hotgigs keys rotate` encrypts them.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hotgigs.models.base import (
    Base,
    check_in,
    created_at_column,
    id_column,
    updated_at_column,
)

#: `documents.document_type`.
DOCUMENT_TYPES: Final = (
    "resume",
    "cover_letter",
    "portfolio",
    "certificate",
    "reference",
    "other",
)


class Document(Base):
    """A file a user uploaded, with its checksum and the text extracted from it."""

    __tablename__ = "documents"
    __table_args__ = (
        check_in("document_type", DOCUMENT_TYPES),
        CheckConstraint("size_bytes >= 0", name="size_bytes_non_negative"),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
        Index(None, "owner_id", "created_at"),
        Index(None, "kek_id"),  # what `hotgigs keys rotate` has left, and the start-up check
    )

    id: Mapped[int] = id_column()
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    document_type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None]
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)
    extracted_text: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True,
                                                         deferred_raiseload=True)
    kek_id: Mapped[str | None] = mapped_column(String(32))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


__all__ = ["DOCUMENT_TYPES", "Document"]
