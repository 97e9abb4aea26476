"""Stored AI analyses: each match-jobs and analyze-resume call, for its caller's history
(GET /api/ai/feedback). Bounded per record (`inputs` and `results` together at most
`RECORD_MAX_BYTES` of JSON: lists are cut, the resume text is never stored) and per user (the
newest `KEEP_PER_USER` are kept; storing one more deletes the older ones)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hotgigs.models.base import Base, check_in, created_at_column, id_column

AI_ANALYSIS_TYPES: Final = ("match_jobs", "analyze_resume")
KEEP_PER_USER: Final = 100
RECORD_MAX_BYTES: Final = 8192  # inputs and results together, as JSON text


class AiAnalysis(Base):
    """One AI analysis a user ran: what was asked and the top of the answer."""

    __tablename__ = "ai_analyses"
    __table_args__ = (
        check_in("analysis_type", AI_ANALYSIS_TYPES),
        CheckConstraint("octet_length(inputs::text) + octet_length(results::text) <= "
                        f"{RECORD_MAX_BYTES}", name="record_size"),
        Index(None, "user_id", "id"),
    )

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    analysis_type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = created_at_column()
    inputs: Mapped[dict[str, Any]]
    results: Mapped[dict[str, Any]]


__all__ = ["AI_ANALYSIS_TYPES", "KEEP_PER_USER", "RECORD_MAX_BYTES", "AiAnalysis"]
