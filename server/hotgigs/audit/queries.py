"""Every SQL statement on the audit log."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import AuditEntry


@dataclasses.dataclass(frozen=True)
class Filter:
    """Which entries a listing wants (None or "": any)."""

    actor_user_id: int | None = None
    action: str = ""  # exact, or a prefix when it ends with a dot
    target: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def insert(session: Session, *, actor_user_id: int | None, action: str, target: str,
           details: dict[str, Any]) -> None:
    session.add(AuditEntry(actor_user_id=actor_user_id, action=action, target=target,
                           details=details))
    session.flush()


def _where(found: Filter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if found.actor_user_id is not None:
        conditions.append(AuditEntry.actor_user_id == found.actor_user_id)
    if found.action.endswith("."):
        conditions.append(AuditEntry.action.startswith(found.action, autoescape=True))
    elif found.action:
        conditions.append(AuditEntry.action == found.action)
    if found.target:
        conditions.append(AuditEntry.target == found.target)
    if found.since is not None:
        conditions.append(AuditEntry.created_at >= found.since)
    if found.until is not None:
        conditions.append(AuditEntry.created_at < found.until)
    return conditions


def page(session: Session, found: Filter, *, limit: int, offset: int
         ) -> tuple[list[AuditEntry], int]:
    """One page, newest first, and the number of all matches."""
    conditions = _where(found)
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(*conditions))
    rows = session.scalars(sa.select(AuditEntry).where(*conditions)
                           .order_by(AuditEntry.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total or 0)


def delete_older(session: Session, cutoff: dt.datetime, batch: int) -> int:
    """Delete at most `batch` entries created before `cutoff`; how many went."""
    oldest = sa.select(AuditEntry.id).where(AuditEntry.created_at < cutoff) \
        .order_by(AuditEntry.created_at).limit(batch).scalar_subquery()
    result = session.execute(sa.delete(AuditEntry).where(AuditEntry.id.in_(oldest)))
    return int(getattr(result, "rowcount", 0) or 0)


def about(session: Session, target: str) -> list[AuditEntry]:
    return list(session.scalars(sa.select(AuditEntry).where(AuditEntry.target == target)
                                .order_by(AuditEntry.id)))


def forget(session: Session, *, user_id: int, email: str) -> None:
    """Drop the person's e-mail address and client addresses from the log's entries."""
    about = sa.or_(AuditEntry.actor_user_id == user_id, AuditEntry.target == f"user:{user_id}",
                   AuditEntry.target == f"email:{email}")
    session.execute(sa.update(AuditEntry).where(about).values(
        details=AuditEntry.details.op("-")("client_address")))
    session.execute(sa.update(AuditEntry).where(AuditEntry.target == f"email:{email}")
                    .values(target="email:(erased)"))
    session.execute(sa.update(AuditEntry).where(AuditEntry.details["invitee"].astext == email)
                    .values(details=AuditEntry.details.op("||")(
                        sa.func.jsonb_build_object("invitee", "(erased)"))))
