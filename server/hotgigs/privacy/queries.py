"""The privacy read model: every SQL statement of the module. Like analytics (declared in
tests/test_architecture.py, READ_MODELS), it reads other modules' tables, here only: an export
must show every row about a person, whichever module keeps it. It writes nothing; the erasure
goes through each owning module's service."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import (
    AiAnalysis,
    ApplicationStatusHistory,
    AuditEntry,
    AuthSession,
    Base,
    CandidateProfile,
    CompanyInvitation,
    CompanyMember,
    Document,
    Education,
    Experience,
    JobApplication,
    Notification,
    NotificationPreference,
    OutboxEmail,
    ServiceAccount,
    User,
    UserIdentity,
)

# Columns never exported: credentials and hashes, a document's bytes (a file of its own) and its
# encryption (data key, nonce, KEK id; the service adds the decrypted extracted text), the mail
# bodies (they held one-time links). Sealed columns (users.phone, ...) are opened by their type.
NEVER: frozenset[str] = frozenset({"password_hash", "content", "body_text", "key_hash",
                                   "extracted_text", "wrapped_key", "content_nonce", "kek_id"})


@dataclasses.dataclass(frozen=True)
class Person:
    user_id: int
    email: str


def _where(person: Person) -> dict[str, tuple[type[Base], Callable[[], sa.ColumnElement[bool]]]]:
    """Each section of the archive: its model and which of its rows are about `person`."""
    uid, email = person.user_id, person.email
    own_applications = sa.select(JobApplication.id).where(JobApplication.candidate_id == uid)
    return {
        "account": (User, lambda: User.id == uid),
        "candidate_profile": (CandidateProfile, lambda: CandidateProfile.user_id == uid),
        "experiences": (Experience, lambda: Experience.user_id == uid),
        "educations": (Education, lambda: Education.user_id == uid),
        "applications": (JobApplication, lambda: JobApplication.candidate_id == uid),
        "application_status_history": (ApplicationStatusHistory, lambda: sa.or_(
            ApplicationStatusHistory.application_id.in_(own_applications),
            ApplicationStatusHistory.changed_by == uid)),
        "documents": (Document, lambda: Document.owner_id == uid),
        "notifications": (Notification, lambda: Notification.user_id == uid),
        "notification_preferences": (NotificationPreference,
                                     lambda: NotificationPreference.user_id == uid),
        "company_memberships": (CompanyMember, lambda: CompanyMember.user_id == uid),
        "company_invitations": (CompanyInvitation, lambda: sa.or_(
            CompanyInvitation.user_id == uid, CompanyInvitation.email == email)),
        "sessions": (AuthSession, lambda: AuthSession.user_id == uid),
        "identities": (UserIdentity, lambda: UserIdentity.user_id == uid),
        "ai_analyses": (AiAnalysis, lambda: AiAnalysis.user_id == uid),
        "service_accounts": (ServiceAccount, lambda: ServiceAccount.owner_id == uid),
        "mail": (OutboxEmail, lambda: OutboxEmail.to_address == email),
        "audit_log": (AuditEntry, lambda: sa.or_(
            AuditEntry.actor_user_id == uid, AuditEntry.target == f"user:{uid}",
            AuditEntry.target == f"email:{email}")),
    }


def person(session: Session, user_id: int) -> Person | None:
    row = session.execute(sa.select(User.id, User.email).where(User.id == user_id)).first()
    return None if row is None else Person(row.id, row.email)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):  # ciphertext or a hash: never exported
        raise TypeError("a binary column reached the export: add it to NEVER or decode it")
    return value


def sections(session: Session, who: Person) -> dict[str, list[dict[str, Any]]]:
    """Every row about `who`, per section, as JSON-ready dicts (oldest first)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, (model, condition) in _where(who).items():
        table = sa.inspect(model).local_table
        columns = [column for column in table.columns if column.key not in NEVER]
        order = list(table.primary_key)
        rows = session.execute(sa.select(*columns).where(condition()).order_by(*order)).all()
        found[name] = [{key: _plain(value) for key, value in row._mapping.items()} for row in rows]
    return found


def counts(session: Session, who: Person) -> dict[str, int]:
    """How many rows each section holds about `who`."""
    return {name: int(session.scalar(sa.select(sa.func.count()).select_from(model)
                                     .where(condition())) or 0)
            for name, (model, condition) in _where(who).items()}
