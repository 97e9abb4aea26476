"""Queue an e-mail in the caller's transaction: a rolled-back change sends nothing, a
committed one is never forgotten (`hotgigs.mail.sender.MailSender` picks it up).

    with database.session_scope() as session:
        user = ...
        outbox.enqueue(session, to=user.email, subject="Welcome", body="...", kind="welcome")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from email.headerregistry import Address
from typing import Final, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import OutboxEmail

#: Column sizes of `outbox_emails`: refused here with a clear message instead of a DataError.
MAX_ADDRESS_LENGTH: Final = 320
MAX_SUBJECT_LENGTH: Final = 500
MAX_KIND_LENGTH: Final = 50


@dataclasses.dataclass(frozen=True)
class Letter:
    """A checked mail, ready for `enqueue_all` (build it with `letter`)."""

    to_address: str
    subject: str
    body_text: str
    kind: str


def letter(*, to: str, subject: str, body: str, kind: str) -> Letter:
    """A mail checked as `enqueue` checks it (raises ValueError the same way)."""
    _check_single_line("to", to, MAX_ADDRESS_LENGTH)
    _check_single_line("subject", subject, MAX_SUBJECT_LENGTH)
    _check_single_line("kind", kind, MAX_KIND_LENGTH)
    _check_one_address(to)
    return Letter(to, subject, body, kind)


_INSERT = sa.insert(cast(sa.Table, OutboxEmail.__table__))


def enqueue_all(writer: sa.Connection | Session, letters: Sequence[Letter]) -> None:
    """Queue several mails in one statement in the transaction of `writer` (a session or its
    connection; no entities: for writes that mail many people at once, such as notifications)."""
    if letters:
        writer.execute(_INSERT, [dataclasses.asdict(item) for item in letters])


def enqueue(session: Session, *, to: str, subject: str, body: str, kind: str) -> OutboxEmail:
    """Add a pending mail to `session` (never flushes or commits: the caller's
    `session_scope()` commits it together with the change that caused it).

    Raises ValueError for a recipient that is not exactly one plain address, or for a
    header value with a line break (header injection) or over its column's length.
    """
    checked = letter(to=to, subject=subject, body=body, kind=kind)
    row = OutboxEmail(**dataclasses.asdict(checked))
    session.add(row)
    return row


def _check_single_line(name: str, value: str, max_length: int) -> None:
    if any(char in value for char in "\r\n\0"):
        raise ValueError(f"{name} must be a single line (header injection)")
    if len(value) > max_length:
        raise ValueError(f"{name} is longer than {max_length} characters")


def _check_one_address(to: str) -> None:
    """`to` must be one bare `local@domain` (no display name, no list: `a@x, b@y` would
    otherwise become two recipients)."""
    try:
        address = Address(addr_spec=to)
    except ValueError:  # email's header defects are ValueErrors too
        raise ValueError("to must be a single e-mail address like name@example.com") from None
    if not address.username or not address.domain:
        raise ValueError("to must be a single e-mail address like name@example.com")


def forget(session: Session, *, to: str) -> None:
    """Mail to `to`, sent or not (an erased person's address)."""
    session.execute(sa.delete(OutboxEmail).where(OutboxEmail.to_address == to))
