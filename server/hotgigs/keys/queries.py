"""SQL of the keys module: the `encryption_keys` table, and sealed columns read and written as
the bytes they hold (no type decorator: rotation moves ciphertexts, it does not read them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from hotgigs.models import EncryptionKey
from hotgigs.security.encryption import LEGACY, SEALED


def known(session: Session) -> dict[str, EncryptionKey]:
    return {row.id: row for row in session.scalars(sa.select(EncryptionKey))}


def register(session: Session, kek_id: str, check_value: bytes) -> bytes:
    """Record `kek_id`'s check value unless known; the stored one (another worker may have
    registered the id first)."""
    session.execute(insert(EncryptionKey).values(id=kek_id, check_value=check_value)
                    .on_conflict_do_nothing(index_elements=["id"]))
    return bytes(session.scalar(sa.select(EncryptionKey.check_value)
                                .where(EncryptionKey.id == kek_id)) or b"")


def set_retired(session: Session, kek_id: str, retired_at: dt.datetime | None) -> None:
    session.execute(sa.update(EncryptionKey).where(EncryptionKey.id == kek_id)
                    .values(retired_at=retired_at))


def _column(table: str, primary_key: str, column: str) -> tuple[sa.TableClause, Any, Any]:
    clause = sa.table(table, sa.column(primary_key), sa.column(column, sa.LargeBinary))
    return clause, clause.c[primary_key], clause.c[column]


def _not_under(value: Any, kek_id: str) -> sa.ColumnElement[bool]:
    marker = bytes((len(kek_id),)) + kek_id.encode()
    return sa.and_(value.is_not(None), sa.or_(
        sa.func.get_byte(value, 0) == LEGACY,
        sa.func.substring(value, 2, len(marker)) != sa.literal(marker, sa.LargeBinary)))


def column_batch(session: Session, table: str, primary_key: str, column: str, *, kek_id: str,
                 limit: int) -> list[tuple[Any, bytes]]:
    """Up to `limit` (key, stored bytes) of values not sealed under `kek_id`, locked."""
    _clause, key, value = _column(table, primary_key, column)
    rows = session.execute(sa.select(key, value).where(_not_under(value, kek_id))
                           .order_by(key).limit(limit).with_for_update(skip_locked=True))
    return [(row[0], bytes(row[1])) for row in rows]


def store_column(session: Session, table: str, primary_key: str, column: str, key_value: Any,
                 stored: bytes) -> None:
    clause, key, _value = _column(table, primary_key, column)
    session.execute(sa.update(clause).where(key == key_value).values({column: stored}))


def column_count_by_kek(session: Session, table: str, primary_key: str, column: str
                        ) -> dict[str | None, int]:
    """Values per KEK id (None: legacy plain values)."""
    clause, _key, value = _column(table, primary_key, column)
    kek = sa.case((sa.func.get_byte(value, 0) == SEALED,
                   sa.func.encode(sa.func.substring(value, 3, sa.func.get_byte(value, 1)),
                                  "escape")), else_=None)
    rows = session.execute(sa.select(kek, sa.func.count()).select_from(clause)
                           .where(value.is_not(None)).group_by(kek))
    return {row[0]: int(row[1]) for row in rows}
