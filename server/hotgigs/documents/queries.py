"""SQL statements of the documents module; nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session, undefer

from hotgigs.models import Document


def document(session: Session, document_id: int, *, with_content: bool = False,
             with_text: bool = False) -> Document | None:
    """One document; its bytes and its text (deferred) only `with_content` / `with_text`."""
    query = sa.select(Document).where(Document.id == document_id)
    if with_content:
        query = query.options(undefer(Document.content))
    if with_text:
        query = query.options(undefer(Document.extracted_text))
    return session.scalar(query)


def next_id(session: Session) -> int:
    """A new document id from the table's identity sequence (taken before the INSERT: the id is
    bound into the ciphertexts)."""
    return int(session.scalar(sa.select(sa.func.nextval(sa.func.pg_get_serial_sequence(
        "documents", "id")))) or 0)


def not_under_kek(session: Session, *, kek_id: str, limit: int
                  ) -> list[sa.Row[int, str | None, bytes | None]]:
    """Up to `limit` documents not wrapped under `kek_id` (plain ones included), locked for
    update; rows another transaction holds are skipped."""
    return list(session.execute(
        sa.select(Document.id, Document.kek_id, Document.wrapped_key)
        .where(sa.or_(Document.kek_id.is_(None), Document.kek_id != kek_id))
        .order_by(Document.id).limit(limit).with_for_update(skip_locked=True)).all())


def store_envelope(session: Session, document_id: int, *, kek_id: str, wrapped_key: bytes) -> None:
    session.execute(sa.update(Document).where(Document.id == document_id)
                    .values(kek_id=kek_id, wrapped_key=wrapped_key)
                    .execution_options(synchronize_session=False))


def store_sealed(session: Session, document_id: int, *, kek_id: str, wrapped_key: bytes,
                 content: bytes, content_nonce: bytes, text: bytes | None) -> None:
    session.execute(sa.update(Document).where(Document.id == document_id)
                    .values(kek_id=kek_id, wrapped_key=wrapped_key, content=content,
                            content_nonce=content_nonce, extracted_text=text)
                    .execution_options(synchronize_session=False))


def count_by_kek(session: Session) -> dict[str | None, int]:
    rows = session.execute(sa.select(Document.kek_id, sa.func.count()).group_by(Document.kek_id))
    return {row[0]: int(row[1]) for row in rows}


def page(session: Session, *, owner_id: int, document_type: str | None, limit: int, offset: int
         ) -> tuple[list[Document], int]:
    """One page of an owner's documents, newest first, and the true total."""
    where = [Document.owner_id == owner_id]
    if document_type is not None:
        where.append(Document.document_type == document_type)
    total = session.scalar(sa.select(sa.func.count()).select_from(Document).where(*where))
    rows = list(session.scalars(sa.select(Document).where(*where)
                                .order_by(Document.created_at.desc(), Document.id.desc())
                                .limit(limit).offset(offset)))
    return rows, int(total or 0)


def owned_by(session: Session, owner_id: int, *, only: Iterable[int] | None = None) -> list[Document]:
    """An owner's documents, newest first (`only`: restricted to these ids)."""
    query = sa.select(Document).where(Document.owner_id == owner_id)
    if only is not None:
        query = query.where(Document.id.in_(list(only)))
    return list(session.scalars(query.order_by(Document.created_at.desc())))
