"""The audit log of security events (issue 18 item 5): who did what to what, when.

Written by `hotgigs.audit.service.record` only, which keeps secrets out of `details`; rows
older than AUDIT_LOG_RETENTION_DAYS are deleted by every worker's pruner.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hotgigs.models.base import Base, created_at_column


class AuditEntry(Base):
    """One security-relevant action: who, what, on what, when (never a secret)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    created_at: Mapped[dt.datetime] = created_at_column()
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                      index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]]


__all__ = ["AuditEntry"]
