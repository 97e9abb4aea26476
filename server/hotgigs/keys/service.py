"""The configured KEKs against the database: the start-up check, rotation and status."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
from collections.abc import Callable

import structlog
from sqlalchemy.orm import Session

from hotgigs.db import Database
from hotgigs.documents import service as documents_service
from hotgigs.keys import queries
from hotgigs.models.sealed import SEALED_COLUMNS
from hotgigs.security.encryption import KeyRing
from hotgigs.settings import ConfigError

log = structlog.get_logger(__name__)
VARIABLE = "HOTGIGS_ENCRYPTION_KEKS"


def check(session: Session, *, keyring: KeyRing) -> None:
    """Refuse to run (ConfigError) with a KEK whose material differs from what the database
    saw under its id, or without a KEK that data may still be wrapped or sealed under; record
    the check values of KEKs seen for the first time."""
    stored = queries.known(session)
    for kek_id, value in keyring.check_values().items():
        seen = queries.register(session, kek_id, value)
        if not hmac.compare_digest(seen, value):
            raise ConfigError(
                f"{VARIABLE}: the key {kek_id!r} is not the key this database knows under that id "
                "(its check value differs): wrong key material, or a new key given an old id. "
                "Give it back its material, or a new key a new id.")
    current = stored.get(keyring.current_id)
    if current is not None and current.retired_at is not None:
        queries.set_retired(session, keyring.current_id, None)  # it wraps again
    missing = sorted(kek_id for kek_id, row in stored.items()
                     if row.retired_at is None and kek_id not in keyring.ids)
    if missing:
        raise ConfigError(
            f"{VARIABLE} lacks {', '.join(repr(m) for m in missing)}: data may still be wrapped or "
            "sealed under it. Keep it listed (after the current key) until `hotgigs keys rotate` "
            "has moved everything and retired it.")


@dataclasses.dataclass(frozen=True)
class Progress:
    """One step of a rotation, for its progress line."""

    what: str  # "documents" or "table.column"
    done: int
    total: int


@dataclasses.dataclass(frozen=True)
class Usage:
    """How much each KEK id wraps or seals (None: plain, stored before encryption)."""

    documents: dict[str | None, int]
    columns: dict[str, dict[str | None, int]]

    def remaining(self, current: str) -> dict[str, int]:
        """Per place, what is not under `current` yet."""
        places = {"documents": self.documents, **self.columns}
        return {name: sum(n for kek, n in counts.items() if kek != current)
                for name, counts in places.items()}

    def in_use(self) -> set[str | None]:
        places = [self.documents, *self.columns.values()]
        return {kek for counts in places for kek, n in counts.items() if n}


def usage(session: Session) -> Usage:
    return Usage(documents_service.count_by_kek(session),
                 {f"{table}.{column}": queries.column_count_by_kek(session, table, key, column)
                  for table, key, column in SEALED_COLUMNS})


def rotate(database: Database, *, keyring: KeyRing, batch_size: int,
           report: Callable[[Progress], None]) -> dict[str, int]:
    """Move every document and sealed value to the current KEK, one committed batch at a time
    (`report` after each), then retire the KEKs nothing uses any more. Safe to interrupt and to
    run again (it carries on with what is left), and beside serving workers: each batch locks
    only its rows (SKIP LOCKED) and changes each row in one UPDATE. Returns what it moved."""
    with database.session_scope() as session:
        check(session, keyring=keyring)
        remaining = usage(session).remaining(keyring.current_id)
    moved = dict.fromkeys(remaining, 0)
    total = remaining["documents"]
    while True:
        with database.session_scope() as session:
            batch = documents_service.rotate_batch(session, keyring=keyring, batch_size=batch_size)
        if not batch.rewrapped:
            break
        moved["documents"] += batch.rewrapped
        total = max(total, moved["documents"])
        report(Progress("documents", moved["documents"], total))
    for table, key, column in SEALED_COLUMNS:
        name = f"{table}.{column}"
        context = name
        while True:
            with database.session_scope() as session:
                rows = queries.column_batch(session, table, key, column,
                                            kek_id=keyring.current_id, limit=batch_size)
                for key_value, stored in rows:
                    resealed = keyring.seal(keyring.open(stored, context=context), context=context)
                    queries.store_column(session, table, key, column, key_value, resealed)
            if not rows:
                break
            moved[name] += len(rows)
            report(Progress(name, moved[name], max(remaining[name], moved[name])))
    with database.session_scope() as session:
        in_use = usage(session).in_use()
        now = dt.datetime.now(dt.UTC)
        for kek_id, row in queries.known(session).items():
            if kek_id != keyring.current_id and kek_id not in in_use and row.retired_at is None:
                queries.set_retired(session, kek_id, now)
                log.info("kek_retired", kek_id=kek_id)
    log.info("keys_rotated", kek_id=keyring.current_id, **{k.replace(".", "_"): v
                                                          for k, v in moved.items()})
    return moved


@dataclasses.dataclass(frozen=True)
class KeyStatus:
    kek_id: str
    configured: bool
    current: bool
    matches: bool | None  # the check value agrees (None: not configured here)
    retired: bool
    documents: int
    values: int


def status(session: Session, *, keyring: KeyRing) -> tuple[list[KeyStatus], Usage]:
    """Every KEK id the database or the settings know, with what it wraps and seals."""
    found = usage(session)
    known = queries.known(session)
    checks = keyring.check_values()
    rows = []
    for kek_id in sorted(set(known) | set(checks), key=lambda k: (k != keyring.current_id, k)):
        row = known.get(kek_id)
        rows.append(KeyStatus(
            kek_id, kek_id in checks, kek_id == keyring.current_id,
            None if kek_id not in checks or row is None
            else hmac.compare_digest(bytes(row.check_value), checks[kek_id]),
            row is not None and row.retired_at is not None, found.documents.get(kek_id, 0),
            sum(counts.get(kek_id, 0) for counts in found.columns.values())))
    return rows, found
