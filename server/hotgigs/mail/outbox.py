"""Queue an e-mail in the caller's transaction: a rolled-back change sends nothing, a
committed one is never forgotten (the sender picks it up)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hotgigs.models import OutboxEmail


def enqueue(session: Session, *, to: str, subject: str, body: str, kind: str) -> OutboxEmail:
    """Add a pending mail to the session (the caller's `session_scope()` commits it)."""
    for name, value in (("to", to), ("subject", subject)):
        if "\r" in value or "\n" in value:
            raise ValueError(f"{name} must be a single line (header injection)")
    row = OutboxEmail(to_address=to, subject=subject, body_text=body, kind=kind)
    session.add(row)
    return row
