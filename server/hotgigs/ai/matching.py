"""Offline matching: a 0-100 score with reasons, from five parts.

  skills      45  share of the wanted skills the other side has (after normalisation)
  text        25  BM25 similarity of the profile text to the job text, scaled to the best
  experience  10  same level 10, one level apart 5
  location    10  same place or remote where remote is wanted
  salary      10  the salary ranges overlap (or nobody said)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from rank_bm25 import BM25Okapi

from hotgigs.ai import skills as skill_names

LEVELS = ("entry", "mid", "senior", "executive")
WEIGHTS = {"skills": 45.0, "text": 25.0, "experience": 10.0, "location": 10.0, "salary": 10.0}


@dataclasses.dataclass(frozen=True)
class Seeker:
    """What a candidate offers and wants."""

    skills: tuple[str, ...]
    experience_level: str | None = None
    location: str | None = None
    remote: bool = False
    salary_min: int | None = None
    salary_max: int | None = None
    text: str = ""


@dataclasses.dataclass(frozen=True)
class Posting:
    """What a job asks for and offers."""

    key: int
    skills: tuple[str, ...]
    experience_level: str | None
    location: str | None
    remote: bool
    salary_min: int | None
    salary_max: int | None
    text: str


@dataclasses.dataclass(frozen=True)
class Match:
    key: int
    score: float
    reasons: tuple[str, ...]


def _level_fit(a: str | None, b: str | None) -> float:
    if a not in LEVELS or b not in LEVELS:
        return 0.5
    gap = abs(LEVELS.index(a) - LEVELS.index(b))
    return 1.0 if gap == 0 else 0.5 if gap == 1 else 0.0


def _overlap(low_a: int | None, high_a: int | None, low_b: int | None, high_b: int | None) -> bool:
    if (low_a is None and high_a is None) or (low_b is None and high_b is None):
        return True
    a_low, a_high = low_a or 0, high_a if high_a is not None else 10**9
    b_low, b_high = low_b or 0, high_b if high_b is not None else 10**9
    return a_low <= b_high and b_low <= a_high


def rank(seeker: Seeker, postings: Sequence[Posting], limit: int) -> list[Match]:
    """Score every posting for the seeker; best first."""
    if not postings:
        return []
    wanted = set(skill_names.normalise_all(seeker.skills))
    corpus = [skill_names.tokens(p.text + " " + " ".join(p.skills)) or ["_"] for p in postings]
    query = skill_names.tokens(seeker.text + " " + " ".join(seeker.skills))
    similarities = BM25Okapi(corpus).get_scores(query) if query else [0.0] * len(postings)
    best = max(max(similarities), 1e-9)
    matches = []
    for posting, similarity in zip(postings, similarities, strict=True):
        offered = set(skill_names.normalise_all(posting.skills))
        shared = sorted(wanted & offered)
        needed = offered or wanted
        skill_part = len(shared) / len(needed) if needed else 0.0
        text_part = max(0.0, float(similarity) / best)
        level_part = _level_fit(seeker.experience_level, posting.experience_level)
        place = (seeker.location or "").lower()
        location_part = 1.0 if (seeker.remote and posting.remote) or (
            place and posting.location and (place in posting.location.lower()
                                            or posting.location.lower() in place)) else 0.0
        salary_part = 1.0 if _overlap(seeker.salary_min, seeker.salary_max,
                                      posting.salary_min, posting.salary_max) else 0.0
        score = (WEIGHTS["skills"] * skill_part + WEIGHTS["text"] * text_part
                 + WEIGHTS["experience"] * level_part + WEIGHTS["location"] * location_part
                 + WEIGHTS["salary"] * salary_part)
        reasons = []
        if shared:
            reasons.append(f"Skills match: {', '.join(shared)} ({len(shared)} of {len(needed)})")
        missing = sorted(offered - wanted)
        if missing:
            reasons.append(f"Skills to learn: {', '.join(missing[:5])}")
        if level_part == 1.0:
            reasons.append(f"Experience level fits ({posting.experience_level})")
        if location_part:
            reasons.append("Remote work fits" if seeker.remote and posting.remote
                           else f"Location fits ({posting.location})")
        if salary_part and (seeker.salary_min or seeker.salary_max):
            reasons.append("Salary ranges overlap")
        if text_part > 0.5:
            reasons.append("Strong overlap between profile and job description")
        matches.append(Match(posting.key, round(min(100.0, score), 1), tuple(reasons)))
    matches.sort(key=lambda m: (-m.score, m.key))
    return matches[:limit]
