"""Documents: upload (checked by content), list, read, download, delete.

Storage choice: the bytes live in PostgreSQL (`documents.content`, bytea, loaded only on
download), so every API host behind one database serves every document, backups include them,
and a failed upload leaves nothing behind (one transaction). 16 MB per file keeps this sane.
Readers: the owner, admins, and members of a company while an application to one of its jobs
attached the document and is not withdrawn (`applications.reach`); others get 403.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session, undefer

from hotgigs.applications import reach
from hotgigs.context import Principal
from hotgigs.core import limits, pagination
from hotgigs.core.rpc import ADMIN
from hotgigs.documents import files
from hotgigs.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from hotgigs.models import DOCUMENT_TYPES, Document, JobApplication
from hotgigs.settings import Settings
from hotgigs.validation import Validator

log = structlog.get_logger(__name__)



def upload(session: Session, *, actor: Principal, settings: Settings, document_type: str,
           title: str, description: str, filename: str, content_type: str,
           content: bytes) -> Document:
    if len(content) > settings.document_max_bytes:
        raise InvalidArgument("The file is too large", [FieldViolation(
            "content", f"must be at most {settings.document_max_bytes // (1024 * 1024)} MB")],
            reason="FILE_TOO_LARGE")
    check = Validator()
    kind = check.choice("document_type", document_type or "resume", DOCUMENT_TYPES)
    name = check.text("filename", filename, max_length=limits.FILENAME, required=True)
    if name and ("/" in name or "\\" in name):
        check.fail("filename", "must be a file name, not a path")
    heading = check.text("title", title or name, max_length=limits.TITLE, required=True)
    about = check.text("description", description, max_length=limits.TEXT, multiline=True)
    check.check("Upload data is invalid")
    declared = files.declared_format(name or "", content_type, settings.document_allowed_types)
    inspected = files.inspect(content, declared=declared)
    document = Document(owner_id=actor.user_id, document_type=kind, title=heading,
                        description=about or None, filename=name, size_bytes=len(content),
                        content_type=inspected.content_type,
                        sha256=hashlib.sha256(content).hexdigest(), content=content,
                        extracted_text=inspected.text)
    session.add(document)
    session.flush()
    log.info("document_uploaded", document_id=document.id, format=inspected.extension,
             size_bytes=len(content))
    return document


def _may_read(session: Session, actor: Principal, document: Document) -> bool:
    if actor.role == ADMIN or document.owner_id == actor.user_id:
        return True
    attached = reach.attached_documents(actor.user_id, document.owner_id)
    return session.scalar(attached.where(JobApplication.resume_document_id == document.id)
                          .limit(1)) is not None


def get(session: Session, *, actor: Principal, document_id: int, with_content: bool = False
        ) -> Document:
    query = sa.select(Document).where(Document.id == document_id)
    if with_content:
        query = query.options(undefer(Document.content))
    document = session.scalar(query)
    if document is None:
        raise NotFound(f"Document {document_id} not found", reason="DOCUMENT_NOT_FOUND")
    if not _may_read(session, actor, document):
        raise PermissionDenied("You may not read this document", reason="NOT_ALLOWED")
    return document


def list_mine(session: Session, *, actor: Principal, document_type: str, limit: int | None,
              offset: int) -> tuple[list[Document], int, int]:
    check = Validator()
    kind = check.choice("document_type", document_type or None, DOCUMENT_TYPES)
    size = pagination.limit(check, limit)
    pagination.offset(check, offset)
    check.check("List parameters are invalid")
    where = [Document.owner_id == actor.user_id]
    if kind is not None:
        where.append(Document.document_type == kind)
    total = session.scalar(sa.select(sa.func.count()).select_from(Document).where(*where))
    rows = list(session.scalars(sa.select(Document).where(*where)
                                .order_by(Document.created_at.desc(), Document.id.desc())
                                .limit(size).offset(offset)))
    return rows, int(total or 0), size


def delete(session: Session, *, actor: Principal, document_id: int) -> None:
    document = session.get(Document, document_id)
    if document is None or document.owner_id != actor.user_id:
        raise NotFound(f"Document {document_id} not found", reason="DOCUMENT_NOT_FOUND")
    session.delete(document)
