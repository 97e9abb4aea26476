"""A person's data on request: `prepare_export` gathers what the archive holds (and records
privacy.export); `erase` removes the person everywhere (and records privacy.erase).

The archive holds plain values: sealed columns are opened by their types, documents' files and
extracted text are decrypted by the documents service (a document that fails its integrity
check ends the stream with DATA_LOSS rather than giving ciphertext).

Erasure, in one transaction: the audit log forgets the person's e-mail address and client
addresses (the entries stay, about `user:<id>`), pending invitations and mail to the address
go, every session is revoked, and the account row is deleted, which deletes (ON DELETE CASCADE)
the profile, experiences, educations, applications with their history (sealed columns and
all), documents with their encrypted files, extracted text and wrapped data keys (the search
and matching read these rows, so the person leaves them at once), notifications and
preferences, memberships, linked identities, sessions and tokens, and owned service accounts;
what others made keeps its row with the reference emptied (SET NULL: jobs posted, companies
created, status changes made, invitations sent). Plain Python on a session.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from hotgigs.audit import service as audit_service
from hotgigs.auth import service as auth_service
from hotgigs.companies import service as companies_service
from hotgigs.context import Principal
from hotgigs.core.rpc import ADMIN
from hotgigs.documents import service as documents_service
from hotgigs.errors import NotFound, PermissionDenied
from hotgigs.mail import outbox
from hotgigs.privacy import queries
from hotgigs.privacy.archive import DocumentFile
from hotgigs.security.encryption import KeyRing
from hotgigs.security.sessions import SessionStore

FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Export:
    """What the archive of one user holds: JSON files by name, and the documents' files."""

    user_id: int
    files: dict[str, Any]
    documents: list[DocumentFile]


@dataclasses.dataclass(frozen=True)
class Erased:
    user_id: int
    erased_at: dt.datetime
    removed: dict[str, int]


def _person(session: Session, actor: Principal, user_id: int) -> queries.Person:
    """The user `actor` may export or erase: themselves, or anyone for an admin."""
    if user_id != actor.user_id and actor.role != ADMIN:
        raise PermissionDenied("Only admins act on other users' data")
    person = queries.person(session, user_id) if user_id > 0 else None
    if person is None:
        raise NotFound("User not found", reason="USER_NOT_FOUND")
    return person


def _by(actor: Principal, user_id: int) -> str:
    return "self" if actor.user_id == user_id else "admin"


def prepare_export(session: Session, *, actor: Principal, keyring: KeyRing,
                   user_id: int) -> Export:
    """Everything held about the user, decrypted, but the documents' bytes (read one at a time
    later, `document_content`)."""
    person = _person(session, actor, user_id)
    sections = queries.sections(session, person)
    for row in sections["documents"]:
        row["extracted_text"] = documents_service.text_of(session, keyring=keyring,
                                                          document_id=row["id"])
    documents = [DocumentFile(row["id"], row["filename"]) for row in sections["documents"]]
    audit_service.record(session, actor_user_id=actor.user_id, action="privacy.export",
                         target=f"user:{user_id}",
                         details={"by": _by(actor, user_id), "documents": len(documents)})
    manifest = {"format_version": FORMAT_VERSION, "user_id": user_id,
                "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "files": [f"{name}.json" for name in sections] + [d.path for d in documents]}
    return Export(user_id, {"export": manifest, **sections}, documents)


def document_content(session: Session, *, keyring: KeyRing, document_id: int) -> bytes | None:
    """One document's plain bytes for the archive (None: deleted meanwhile)."""
    return documents_service.content_of(session, keyring=keyring, document_id=document_id)


def erase(session: Session, *, actor: Principal, sessions: SessionStore, user_id: int,
          password: str | None = None) -> Erased:
    """Remove the user everywhere (see the module docstring); `password` confirms a self
    erasure (admins erase without it)."""
    person = _person(session, actor, user_id)
    by = _by(actor, user_id)
    if by == "self":
        auth_service.confirm_password(session, user_id=user_id, password=password or "")
    removed = queries.counts(session, person)
    audit_service.forget_person(session, user_id=user_id, email=person.email)
    companies_service.forget_invitations(session, email=person.email)
    outbox.forget(session, to=person.email)
    sessions.revoke_all_for_user(session, user_id=user_id, reason="erased")
    audit_service.record(session, actor_user_id=actor.user_id if by == "admin" else None,
                         action="privacy.erase", target=f"user:{user_id}",
                         details={"by": by, **{k: v for k, v in removed.items() if v}})
    auth_service.erase_account(session, user_id=user_id)
    return Erased(user_id, dt.datetime.now(dt.UTC),
                  {name: count for name, count in removed.items() if name != "audit_log"})
