"""Every SQL statement of the ai module: its one table, the stored analyses (`ai_analyses`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.models import AiAnalysis


def add(session: Session, row: AiAnalysis) -> None:
    session.add(row)
    session.flush()


def trim(session: Session, *, user_id: int, keep: int) -> None:
    """Delete the user's analyses older than their newest `keep` (one indexed statement)."""
    oldest_kept = (sa.select(AiAnalysis.id).where(AiAnalysis.user_id == user_id)
                   .order_by(AiAnalysis.id.desc()).offset(keep - 1).limit(1).scalar_subquery())
    session.execute(sa.delete(AiAnalysis).where(AiAnalysis.user_id == user_id,
                                                AiAnalysis.id < oldest_kept))


def history(session: Session, *, user_id: int, limit: int, offset: int) -> list[AiAnalysis]:
    """One page of the user's analyses, newest first."""
    return list(session.scalars(sa.select(AiAnalysis).where(AiAnalysis.user_id == user_id)
                                .order_by(AiAnalysis.id.desc()).limit(limit).offset(offset)))


def count(session: Session, *, user_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(AiAnalysis)
                          .where(AiAnalysis.user_id == user_id)) or 0
