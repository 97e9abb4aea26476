"""SQL statements of the documents module; nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session, undefer

from hotgigs.models import Document


def document(session: Session, document_id: int, *, with_content: bool = False) -> Document | None:
    """One document; its bytes (deferred) only `with_content`."""
    query = sa.select(Document).where(Document.id == document_id)
    if with_content:
        query = query.options(undefer(Document.content))
    return session.scalar(query)


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
