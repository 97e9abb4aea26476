"""Uploaded files: resumes, cover letters, certificates... (documents and ai modules).

The bytes live in `documents.content` (bytea, TOASTed out of line by PostgreSQL). The column is
deferred with raiseload: a listing never drags megabytes along, and code that needs the bytes
asks for them with `options(undefer(Document.content))`.
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
    extracted_text: Mapped[str | None]
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


__all__ = ["DOCUMENT_TYPES", "Document"]
