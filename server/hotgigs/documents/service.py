"""Documents: upload (checked by content), list, read, download, delete.

Storage choice: the bytes live in PostgreSQL (`documents.content`, bytea, loaded only on
download), so every API host behind one database serves every document, backups include them,
and a failed upload leaves nothing behind (one transaction). 16 MB per file keeps this sane.
Readers: the owner, admins, and members of a company while an application to one of its jobs
attached the document and is not withdrawn (`applications.service.attached_document_ids`);
others get 403.

Encrypted at rest (README, "Encryption at rest"): each document gets a random data key that
encrypts its bytes and its extracted text (AES-256-GCM, bound to the document's id); the key is
stored wrapped by the current key-encryption key. Downloads decrypt in memory (a document is at
most 16 MB and already travels as one message); a failed check is DATA_LOSS, never the bytes.
`rotate_batch` moves documents to the current KEK (and encrypts those stored before encryption)
for `hotgigs keys rotate`.
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
from hotgigs.errors import DataLoss, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from hotgigs.models import DOCUMENT_TYPES, Document
from hotgigs.security import encryption
from hotgigs.security.encryption import Envelope, KeyRing
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


def create(session: Session, *, actor: Principal, settings: Settings, keyring: KeyRing,
           upload_in: UploadIn) -> Document:
    """Store an upload whose content matches an allowed format, encrypted under a new data key;
    its text is extracted (and encrypted too)."""
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
    document_id = queries.next_id(session)  # the id is bound into every ciphertext
    sealed = _seal(keyring, document_id, content, inspected.text)
    document = Document(id=document_id, owner_id=actor.user_id, document_type=kind,
                        title=heading, description=about or None, filename=name,
                        size_bytes=len(content), content_type=inspected.content_type,
                        sha256=hashlib.sha256(content).hexdigest(), content=sealed.content,
                        content_nonce=sealed.content_nonce, extracted_text=sealed.text,
                        kek_id=sealed.envelope.kek_id, wrapped_key=sealed.envelope.wrapped_key)
    session.add(document)
    session.flush()
    session.refresh(document)  # server defaults (timestamps) for the answer
    log.info("document_uploaded", document_id=document.id, format=inspected.extension,
             size_bytes=len(content))
    return document


@dataclasses.dataclass(frozen=True)
class Sealed:
    """A document's stored form: ciphertexts, the content's nonce and the wrapped data key."""

    envelope: Envelope
    content: bytes
    content_nonce: bytes
    text: bytes | None  # nonce | ciphertext


def _seal(keyring: KeyRing, document_id: int, content: bytes, text: str | None) -> Sealed:
    data_key = keyring.new_data_key()
    nonce, ciphertext = encryption.encrypt(
        data_key, content, context=encryption.document_context("content", document_id))
    sealed_text = None
    if text is not None:
        text_nonce, text_ciphertext = encryption.encrypt(
            data_key, text.encode(), context=encryption.document_context("text", document_id))
        sealed_text = text_nonce + text_ciphertext
    return Sealed(keyring.wrap(data_key, document_id=document_id), ciphertext, nonce, sealed_text)


def _data_key(keyring: KeyRing, document: Document) -> bytes | None:
    """The document's data key; None for a document stored before encryption (plain)."""
    if document.kek_id is None or document.wrapped_key is None:
        return None
    try:
        return keyring.unwrap(Envelope(document.kek_id, document.wrapped_key),
                              document_id=document.id)
    except encryption.UnknownKek:
        log.error("document_key_missing", document_id=document.id, kek_id=document.kek_id)
        raise DataLoss(f"Document {document.id} cannot be decrypted: its key-encryption key "
                       f"{document.kek_id!r} is not configured", reason="DOCUMENT_KEY_MISSING"
                       ) from None
    except encryption.DecryptionFailed:
        raise _tampered(document) from None


def _tampered(document: Document) -> DataLoss:
    log.error("document_integrity_failed", document_id=document.id, kek_id=document.kek_id)
    return DataLoss(f"Document {document.id} failed its integrity check: the stored data was "
                    "altered or belongs to another document; it is not served",
                    reason="DOCUMENT_INTEGRITY")


def plain_content(keyring: KeyRing, document: Document) -> bytes:
    """The bytes the owner uploaded (of a document loaded `with_content`)."""
    data_key = _data_key(keyring, document)
    if data_key is None:
        return document.content
    try:
        return encryption.decrypt(data_key, document.content_nonce or b"", document.content,
                                  context=encryption.document_context("content", document.id))
    except encryption.DecryptionFailed:
        raise _tampered(document) from None


def plain_text(keyring: KeyRing, document: Document) -> str | None:
    """The text extracted for matching (of a document loaded `with_text`)."""
    stored = document.extracted_text
    if stored is None:
        return None
    data_key = _data_key(keyring, document)
    if data_key is None:
        return stored.decode()
    try:
        return encryption.decrypt(
            data_key, stored[:encryption.NONCE_BYTES], stored[encryption.NONCE_BYTES:],
            context=encryption.document_context("text", document.id)).decode()
    except encryption.DecryptionFailed:
        raise _tampered(document) from None


@dataclasses.dataclass(frozen=True)
class Rotated:
    """One batch of `rotate_batch`: documents re-wrapped, of which encrypted for the first time."""

    rewrapped: int
    encrypted: int


def rotate_batch(session: Session, *, keyring: KeyRing, batch_size: int) -> Rotated:
    """Move up to `batch_size` documents not under the current KEK to it: re-wrap their data
    key (the bytes stay as they are), or encrypt a document stored before encryption. Rows are
    locked (SKIP LOCKED: two rotations share the work) and every change is one UPDATE, so a
    download reads either the old or the new row, each complete; a crash loses at most the
    batch's transaction, and running again carries on from what is left."""
    rows = queries.not_under_kek(session, kek_id=keyring.current_id, limit=batch_size)
    encrypted = 0
    for row in rows:
        if row.kek_id is None:
            document = queries.document(session, row.id, with_content=True, with_text=True)
            if document is None:  # cannot happen: the row is locked
                continue
            text = document.extracted_text.decode() if document.extracted_text is not None else None
            sealed = _seal(keyring, row.id, document.content, text)
            queries.store_sealed(session, row.id, kek_id=sealed.envelope.kek_id,
                                 wrapped_key=sealed.envelope.wrapped_key, content=sealed.content,
                                 content_nonce=sealed.content_nonce, text=sealed.text)
            session.expunge(document)  # let its bytes go before the next one
            encrypted += 1
        else:
            try:
                envelope = keyring.rewrap(Envelope(row.kek_id, row.wrapped_key or b""),
                                          document_id=row.id)
            except encryption.DecryptionFailed:
                log.error("document_integrity_failed", document_id=row.id, kek_id=row.kek_id)
                raise
            queries.store_envelope(session, row.id, kek_id=envelope.kek_id,
                                   wrapped_key=envelope.wrapped_key)
    return Rotated(len(rows), encrypted)


def count_by_kek(session: Session) -> dict[str | None, int]:
    """How many documents each KEK id wraps (None: stored before encryption, plain)."""
    return queries.count_by_kek(session)


def _may_read(session: Session, actor: Principal, document: Document) -> bool:
    if actor.role == ADMIN or document.owner_id == actor.user_id:
        return True
    return document.id in applications_service.attached_document_ids(
        session, viewer_id=actor.user_id, owner_id=document.owner_id)


def get(session: Session, *, actor: Principal, document_id: int, with_content: bool = False,
        with_text: bool = False) -> Document:
    """A document the caller may read (its stored, encrypted bytes only `with_content`)."""
    document = queries.document(session, document_id, with_content=with_content,
                                with_text=with_text)
    if document is None:
        raise NotFound(f"Document {document_id} not found", reason="DOCUMENT_NOT_FOUND")
    if not _may_read(session, actor, document):
        raise PermissionDenied("You may not read this document", reason="NOT_ALLOWED")
    return document


def download(session: Session, *, actor: Principal, keyring: KeyRing, document_id: int
             ) -> tuple[Document, bytes]:
    """A document the caller may read and its plain bytes."""
    document = get(session, actor=actor, document_id=document_id, with_content=True)
    return document, plain_content(keyring, document)


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


def content_of(session: Session, *, keyring: KeyRing, document_id: int) -> bytes | None:
    """A document's plain bytes, decrypted, for the owner's data export (None: no such
    document)."""
    document = queries.document(session, document_id, with_content=True)
    return None if document is None else plain_content(keyring, document)


def text_of(session: Session, *, keyring: KeyRing, document_id: int) -> str | None:
    """The text extracted from a document, decrypted, for the owner's data export (None: no
    such document, or no text)."""
    document = queries.document(session, document_id, with_text=True)
    return None if document is None else plain_text(keyring, document)
