"""Documents: upload (checked by content), list, read, download, delete.

Storage choice: the bytes live in PostgreSQL (`documents.content`, bytea, loaded only on
download), so every API host behind one database serves every document, backups include them,
and a failed upload leaves nothing behind (one transaction). 16 MB per file keeps this sane.
Readers: the owner, admins, and members of a company while an application to one of its jobs
attached the document and is not withdrawn (`applications.service.attached_document_ids`);
others get 403.
"""

from __future__ import annotations

import dataclasses
import hashlib

import structlog
from sqlalchemy.orm import Session

from hotgigs.applications import service as applications_service
from hotgigs.context import Principal
from hotgigs.core import limits, pagination
from hotgigs.core.rpc import ADMIN
from hotgigs.documents import files, queries
from hotgigs.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from hotgigs.models import DOCUMENT_TYPES, Document
from hotgigs.settings import Settings
from hotgigs.validation import Validator

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class UploadIn:
    """One file and what the uploader says about it (checked against its content)."""

    filename: str
    content: bytes
    content_type: str = ""
    document_type: str = ""
    title: str = ""
    description: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ListIn:
    """A page of the caller's documents."""

    document_type: str = ""
    limit: int | None = None
    offset: int = 0


@dataclasses.dataclass(frozen=True)
class Page:
    items: list[Document]
    total: int
    limit: int
    offset: int


def check_size(settings: Settings, size: int) -> None:
    """Refuse a file over the limit (a streamed upload checks while it receives)."""
    if size > settings.document_max_bytes:
        raise InvalidArgument("The file is too large", [FieldViolation(
            "content", f"must be at most {settings.document_max_bytes // (1024 * 1024)} MB")],
            reason="FILE_TOO_LARGE")


def create(session: Session, *, actor: Principal, settings: Settings, upload_in: UploadIn
           ) -> Document:
    """Store an upload whose content matches an allowed format; its text is extracted."""
    content = upload_in.content
    check_size(settings, len(content))
    check = Validator()
    kind = check.choice("document_type", upload_in.document_type or "resume", DOCUMENT_TYPES)
    name = check.text("filename", upload_in.filename, max_length=limits.FILENAME, required=True)
    if name and ("/" in name or "\\" in name):
        check.fail("filename", "must be a file name, not a path")
    heading = check.text("title", upload_in.title or name, max_length=limits.TITLE, required=True)
    about = check.text("description", upload_in.description, max_length=limits.TEXT,
                       multiline=True)
    check.check("Upload data is invalid")
    declared = files.declared_format(name or "", upload_in.content_type,
                                     settings.document_allowed_types)
    inspected = files.inspect(content, declared=declared)
    document = Document(owner_id=actor.user_id, document_type=kind, title=heading,
                        description=about or None, filename=name, size_bytes=len(content),
                        content_type=inspected.content_type,
                        sha256=hashlib.sha256(content).hexdigest(), content=content,
                        extracted_text=inspected.text)
    session.add(document)
    session.flush()
    session.refresh(document)  # server defaults (timestamps) for the answer
    log.info("document_uploaded", document_id=document.id, format=inspected.extension,
             size_bytes=len(content))
    return document


def _may_read(session: Session, actor: Principal, document: Document) -> bool:
    if actor.role == ADMIN or document.owner_id == actor.user_id:
        return True
    return document.id in applications_service.attached_document_ids(
        session, viewer_id=actor.user_id, owner_id=document.owner_id)


def get(session: Session, *, actor: Principal, document_id: int, with_content: bool = False
        ) -> Document:
    document = queries.document(session, document_id, with_content=with_content)
    if document is None:
        raise NotFound(f"Document {document_id} not found", reason="DOCUMENT_NOT_FOUND")
    if not _may_read(session, actor, document):
        raise PermissionDenied("You may not read this document", reason="NOT_ALLOWED")
    return document


def list_documents(session: Session, *, actor: Principal, list_in: ListIn) -> Page:
    """The caller's own documents, newest first."""
    check = Validator()
    kind = check.choice("document_type", list_in.document_type or None, DOCUMENT_TYPES)
    size = pagination.limit(check, list_in.limit)
    offset = pagination.offset(check, list_in.offset)
    check.check("List parameters are invalid")
    rows, total = queries.page(session, owner_id=actor.user_id, document_type=kind, limit=size,
                               offset=offset)
    return Page(rows, total, size, offset)


def list_readable(session: Session, *, actor: Principal, owner_id: int) -> list[Document]:
    """`owner_id`'s documents the caller may read: all for the owner and admins, for a company
    only those its open applications attached."""
    if actor.user_id == owner_id or actor.role == ADMIN:
        return queries.owned_by(session, owner_id)
    attached = applications_service.attached_document_ids(session, viewer_id=actor.user_id,
                                                          owner_id=owner_id)
    return queries.owned_by(session, owner_id, only=attached) if attached else []


def delete(session: Session, *, actor: Principal, document_id: int) -> None:
    document = session.get(Document, document_id)
    if document is None or document.owner_id != actor.user_id:
        raise NotFound(f"Document {document_id} not found", reason="DOCUMENT_NOT_FOUND")
    session.delete(document)
