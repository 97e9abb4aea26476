"""The transactional outbox for e-mail.

A service that must send mail inserts an `OutboxEmail` in the same transaction as the change
that causes it, so a rolled-back change sends nothing and a committed one is never forgotten.
A sender claims due rows with `SELECT ... WHERE status = 'pending' AND next_attempt_at <= now()
ORDER BY next_attempt_at FOR UPDATE SKIP LOCKED` (served by `ix_outbox_emails_due`), sends,
then sets `sent` or bumps `attempts` / `next_attempt_at` (or gives up with `failed`).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import CheckConstraint, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hotgigs.models.base import Base, check_in, created_at_column, id_column

#: `outbox_emails.status`.
OUTBOX_STATUSES: Final = ("pending", "sent", "failed", "skipped")


class OutboxEmail(Base):
    """One e-mail waiting to be (or already) handed to the SMTP server."""

    __tablename__ = "outbox_emails"
    __table_args__ = (
        check_in("status", OUTBOX_STATUSES),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index(
            "ix_outbox_emails_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = id_column()
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str]
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(10), server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[dt.datetime] = created_at_column()
    last_error: Mapped[str | None]
    created_at: Mapped[dt.datetime] = created_at_column()
    sent_at: Mapped[dt.datetime | None]


__all__ = ["OUTBOX_STATUSES", "OutboxEmail"]
