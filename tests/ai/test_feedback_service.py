"""The stored AI analyses on the suite's PostgreSQL (issue 20, item 2): a bounded record
whatever the input, and a bounded history per user."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from hotgigs.ai import matching, service
from hotgigs.context import Principal
from hotgigs.models import KEEP_PER_USER, RECORD_MAX_BYTES
from tests.factories import make_candidate


def _actor(user_id: int) -> Principal:
    return Principal(user_id=user_id, role="candidate", session_id="", token_id="")


def test_the_history_keeps_the_newest_records_per_user(session: Session) -> None:
    user, other = make_candidate(session), make_candidate(session)
    service.record_match_jobs(session, actor=_actor(other.id),
                              seeker=matching.Seeker(("go",)), ranked=[])
    resume = service.ResumeIn(resume_text="x" * 80)
    analysis = service.ResumeAnalysis(completeness_score=50.0, word_count=1, sections_present={},
                                      suggestions=[], strengths=[], overall_rating="Good",
                                      skills_found=[])
    for _ in range(KEEP_PER_USER + 3):
        service.record_resume_analysis(session, actor=_actor(user.id), resume_in=resume,
                                       analysis=analysis)
    page = service.list_feedback(session, actor=_actor(user.id),
                                 feedback_in=service.FeedbackIn(limit=100))
    assert page.total == KEEP_PER_USER
    ids = [row.id for row in page.records]
    assert ids == sorted(ids, reverse=True)
    assert service.list_feedback(session, actor=_actor(other.id),
                                 feedback_in=service.FeedbackIn()).total == 1, "others untouched"


def test_a_record_stays_within_its_size_whatever_the_input(session: Session) -> None:
    """50 skills of 50 four-byte characters (10 KB of JSON) are cut to fit the record's bound
    (the database's CHECK constraint would refuse a larger one)."""
    user = make_candidate(session)
    skills = tuple(f"{index:02d}" + "\U0001f680" * 48 for index in range(50))
    service.record_match_jobs(session, actor=_actor(user.id), seeker=matching.Seeker(
        skills, "senior", "\u00e9" * 100), ranked=[])
    row = service.list_feedback(session, actor=_actor(user.id),
                                feedback_in=service.FeedbackIn()).records[0]
    size = sum(len(json.dumps(part, ensure_ascii=False).encode()) for part in (row.inputs, row.results))
    assert size <= RECORD_MAX_BYTES
    kept = row.inputs["skills"]
    assert 0 < len(kept) < 50 and tuple(kept) == skills[:len(kept)], "the first skills are kept"
