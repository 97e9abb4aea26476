"""AI RPCs on top of `matching`: jobs for a profile, candidates for a job, resume analysis.

Candidates for ranking are first narrowed in SQL by the modules that own them (active jobs
sharing a skill or matching the profile's words: `jobs.service.match_pool`; public candidates
sharing a skill: `users.service.public_candidates`; popular jobs for a cold start: the read
model), at most `POOL` rows, then scored. The ai module owns one table, the stored analyses
behind GET /api/ai/feedback (ai/queries.py): each match-jobs and analyze-resume call is kept
for its caller, bounded per record and per user (`hotgigs.models.ai`).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hotgigs import visibility
from hotgigs.ai import matching, queries
from hotgigs.ai import skills as skill_names
from hotgigs.ai.openai_rerank import OpenAiReranker, apply_order
from hotgigs.analytics import service as analytics_service
from hotgigs.applications import service as applications_service
from hotgigs.companies import service as companies_service
from hotgigs.context import Principal
from hotgigs.core import limits, pagination
from hotgigs.core.rpc import ADMIN
from hotgigs.errors import InvalidArgument, PermissionDenied
from hotgigs.jobs import service as jobs_service
from hotgigs.models import AI_ANALYSIS_TYPES, EXPERIENCE_LEVELS, KEEP_PER_USER, RECORD_MAX_BYTES, AiAnalysis
from hotgigs.users import service as users_service
from hotgigs.validation import Validator

if TYPE_CHECKING:  # other modules' entities, as their services and the pools hand them over
    from hotgigs.models import CandidateProfile, Company, Job, User

POOL = 500
LIMIT_DEFAULT, LIMIT_MAX = 10, 50
SECTIONS = {"summary": ("summary", "profile", "about me", "objective"),
            "experience": ("experience", "work history", "employment", "professional experience"),
            "education": ("education", "academic", "qualifications"),
            "skills": ("skills", "technical skills", "competencies", "technologies"),
            "projects": ("projects", "portfolio"),
            "certifications": ("certifications", "certificates", "licenses")}


def _posting(job: Job) -> matching.Posting:
    return matching.Posting(job.id, tuple(job.skills_required or ()), job.experience_level,
                            job.location, job.remote_work_allowed, job.salary_min,
                            job.salary_max, f"{job.title} {job.requirements or ''} {job.description}")


def _limit(check: Validator, value: int | None) -> int:
    return pagination.limit(check, value, default=LIMIT_DEFAULT, maximum=LIMIT_MAX)


def recommendation_limit(value: int | None) -> int:
    """How many recommendations to return; refused outside 1..LIMIT_MAX (was clamped)."""
    check = Validator()
    size = _limit(check, value)
    check.check("Recommendation parameters are invalid")
    return size


def _job_pool(session: Session, seeker: matching.Seeker) -> list[tuple[Job, Company]]:
    wanted = skill_names.normalise_all(seeker.skills)
    words = " OR ".join(w for w in skill_names.tokens(" ".join(wanted) + " " + seeker.text) if w)
    return jobs_service.match_pool(session, skills=wanted, words=words, limit=POOL)


def match_jobs(session: Session, *, seeker: matching.Seeker, limit: int
               ) -> tuple[list[tuple[Job, Company, matching.Match]], int]:
    pool = _job_pool(session, seeker)
    by_id = {job.id: (job, company) for job, company in pool}
    ranked = matching.rank(seeker, [_posting(job) for job, _ in pool], limit)
    return [(*by_id[m.key], m) for m in ranked], len(pool)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MatchJobsIn:
    """A profile to match jobs to (at least one skill), and how many matches to return."""

    skills: Sequence[str] = ()
    experience_level: str | None = None
    location_preference: str | None = None
    remote_preference: bool = False
    salary_min: int | None = None
    salary_max: int | None = None
    limit: int | None = None


def seeker(match_in: MatchJobsIn) -> tuple[matching.Seeker, int]:
    """The validated seeker of a match request, and the number of matches wanted."""
    check = Validator()
    skills = check.text_list("skills", match_in.skills, max_items=50, max_length=limits.TAG)
    level = check.choice("experience_level", match_in.experience_level or None, EXPERIENCE_LEVELS)
    location = check.text("location_preference", match_in.location_preference,
                          max_length=limits.LOCATION)
    limit = _limit(check, match_in.limit)
    if not skills:
        check.fail("skills", "give at least one skill")
    check.check("Matching parameters are invalid")
    return matching.Seeker(tuple(skills), level, location or None, match_in.remote_preference,
                           match_in.salary_min, match_in.salary_max), limit


COLD_START_HINT = ("Add skills to your candidate profile (PUT /api/users/candidate-profile) "
                   "to get recommendations matched to you")
COLD_START_REASON = "Recently posted and open: add skills to your profile for personal matches"
COLD_START_DAYS = 30


def _seeker_for_candidate(session: Session, actor: Principal) -> matching.Seeker | None:
    """The candidate's profile as a seeker, or None while it has no skills (cold start)."""
    profile = users_service.candidate_profile_of(session, user_id=actor.user_id)
    user = users_service.find_user(session, user_id=actor.user_id)
    if profile is None or not profile.skills:
        return None
    return matching.Seeker(tuple(profile.skills), profile.experience_level,
                           profile.location or (user.location if user else None),
                           profile.remote_preference, profile.salary_min, profile.salary_max,
                           f"{profile.headline or ''} {profile.current_title or ''}")


def cold_start_jobs(session: Session, *, limit: int) -> list[tuple[Job, Company, matching.Match]]:
    """For a profile without skills: public jobs, most applications in the last
    `COLD_START_DAYS` days first, then the newest (one indexed query, bounded by `limit`)."""
    rows = analytics_service.popular_open_jobs(session, days=COLD_START_DAYS, limit=limit)
    return [(job, company, matching.Match(job.id, 0.0, (COLD_START_REASON,)))
            for job, company in rows]


@dataclasses.dataclass(frozen=True)
class Recommendations:
    """Jobs recommended to a candidate, and the profile they were matched to (None: a cold
    start, the profile has no skills yet, so these are recent popular jobs)."""

    jobs: list[tuple[Job, Company, matching.Match]]
    seeker: matching.Seeker | None


def recommend_jobs(session: Session, *, actor: Principal, limit: int | None,
                   reranker: OpenAiReranker | None = None) -> Recommendations:
    """Jobs for the candidate's own profile (re-ranked when a reranker is given), or a cold
    start's popular jobs; `limit` 1..LIMIT_MAX, LIMIT_DEFAULT when None."""
    size = recommendation_limit(limit)
    seeker = _seeker_for_candidate(session, actor)
    if seeker is None:  # an empty profile is normal: recent, popular jobs and a hint
        return Recommendations(cold_start_jobs(session, limit=size), None)
    ranked, _ = match_jobs(session, seeker=seeker, limit=size)
    return Recommendations(rerank(reranker, seeker, ranked), seeker)


def match_candidates(session: Session, *, actor: Principal, job_id: int, limit: int | None
                     ) -> tuple[Job, list[tuple[User, CandidateProfile, matching.Match]], int]:
    job = jobs_service.get_job_or_raise(session, job_id=job_id)
    companies_service.require_member(session, actor=actor, company_id=job.company_id)
    check = Validator()
    size = _limit(check, limit)
    check.check("Matching parameters are invalid")
    wanted = skill_names.normalise_all(job.skills_required or ())
    rows = users_service.public_candidates(session, skills=wanted, limit=POOL)
    people = {user.id: (user, profile) for user, profile in rows}
    ranked = []
    for user, profile in people.values():  # the job is the seeker's mirror image here
        seeker = matching.Seeker(tuple(profile.skills or ()), profile.experience_level,
                                 profile.location, profile.remote_preference, profile.salary_min,
                                 profile.salary_max, f"{profile.headline or ''}")
        [scored] = matching.rank(seeker, [_posting(job)], 1)
        ranked.append(matching.Match(user.id, scored.score, scored.reasons))
    ranked.sort(key=lambda m: (-m.score, m.key))
    return job, [(*people[m.key], m) for m in ranked[:size]], len(people)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResumeIn:
    """A resume's text, and optionally the open job to measure it against."""

    resume_text: str
    target_job_id: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobFit:
    """How a resume covers an open job's skills."""

    match_percentage: float
    matching_keywords: list[str]
    missing_keywords: list[str]
    recommendations: list[str]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResumeAnalysis:
    completeness_score: float
    word_count: int
    sections_present: dict[str, bool]
    suggestions: list[str]
    strengths: list[str]
    overall_rating: str
    skills_found: list[str]
    job_specific: JobFit | None = None  # with a target job only


def analyze_resume(session: Session, *, resume_in: ResumeIn) -> ResumeAnalysis:
    check = Validator()
    text = check.text("resume_text", resume_in.resume_text, max_length=limits.RESUME_TEXT,
                      min_length=50, required=True, multiline=True) or ""
    check.check("Resume text is invalid")
    lowered = text.lower()
    lines = [line.strip().lower().rstrip(":") for line in text.splitlines() if line.strip()]
    present = {name: any(line in heads or any(line.startswith(h) for h in heads)
                         for line in lines if len(line) < 40)
               for name, heads in SECTIONS.items()}
    found = skill_names.find_in_text(text)
    words = len(re.findall(r"\w+", text))
    suggestions, strengths = [], []
    for name, there in present.items():
        if not there and name in ("summary", "experience", "education", "skills"):
            suggestions.append(f"Add a {name} section")
    if words < 200:
        suggestions.append("Describe your work in more detail (under 200 words now)")
    if not re.search(r"\d+\s*%|\d{2,}", text):
        suggestions.append("Quantify results (numbers, percentages)")
    if len(found) >= 5:
        strengths.append(f"Broad skill set: {', '.join(found[:8])}")
    if present["experience"]:
        strengths.append("Work experience is described")
    completeness = round(100.0 * (sum(present[s] for s in ("summary", "experience", "education",
                                                           "skills")) / 4 * 0.8
                                  + min(words, 400) / 400 * 0.2), 1)
    fit = None
    if resume_in.target_job_id is not None:
        job = jobs_service.find_job(session, job_id=resume_in.target_job_id)
        if job is None or job.status != "active":
            raise InvalidArgument("target_job_id is not an open job")
        wanted = skill_names.normalise_all(job.skills_required or ())
        have = set(found) | {w for w in wanted if w in lowered}
        matching_keywords = [w for w in wanted if w in have]
        missing = [w for w in wanted if w not in have]
        fit = JobFit(
            match_percentage=round(100.0 * len(matching_keywords) / len(wanted), 1)
            if wanted else 0.0,
            matching_keywords=matching_keywords, missing_keywords=missing,
            recommendations=[f"Show your experience with {m}" for m in missing[:5]])
    return ResumeAnalysis(
        completeness_score=completeness, word_count=words, sections_present=present,
        suggestions=suggestions, strengths=strengths,
        overall_rating="strong" if completeness >= 80 else "good" if completeness >= 50
        else "needs work", skills_found=found, job_specific=fit)


def summarise(seeker: matching.Seeker, analysed: int) -> dict[str, Any]:
    return {"skills_analyzed": skill_names.normalise_all(seeker.skills),
            "experience_level": seeker.experience_level or "", "jobs_analyzed": analysed}


def rerank(reranker: OpenAiReranker | None, seeker: matching.Seeker,
           ranked: list[tuple[Job, Company, matching.Match]]
           ) -> list[tuple[Job, Company, matching.Match]]:
    """Let OpenAI reorder the offline top results when configured; else keep them."""
    if reranker is None or len(ranked) < 2:
        return ranked
    profile = (f"skills {', '.join(seeker.skills)}; level {seeker.experience_level or '?'}; "
               f"location {seeker.location or '?'}; remote {'yes' if seeker.remote else 'no'}")
    items = [(job.id, f"{job.title}; skills {', '.join(job.skills_required or [])}; "
                      f"{job.location or ''}; {job.experience_level}")
             for job, _, _ in ranked]
    order = reranker.rerank(profile, items)
    if order is None:
        return ranked
    by_id = {job.id: (job, company, match) for job, company, match in ranked}
    result = []
    for ident in apply_order([job.id for job, _, _ in ranked], order):
        job, company, match = by_id[ident]
        result.append((job, company, matching.Match(
            match.key, match.score, (*match.reasons, "Re-ranked by OpenAI"))))
    return result


def audiences_of(session: Session, *, actor: Principal, candidate_ids: list[int]
                 ) -> dict[int, set[visibility.Audience]]:
    """Who `actor` is to each matched candidate (an applicant of their companies or not)."""
    applicants = applications_service.applicants_of(session, viewer_id=actor.user_id,
                                                    candidate_ids=candidate_ids)
    return {i: visibility.audiences(actor, subject_id=i, applicant=i in applicants)
            for i in candidate_ids}


# ---- the history of analyses (GET /api/ai/feedback) -------------------------------------------
FEEDBACK_TOP = 5  # matches kept per stored match-jobs call
FEEDBACK_KEYWORDS = 10  # missing keywords kept per stored resume analysis
MATCH_JOBS, ANALYZE_RESUME = AI_ANALYSIS_TYPES
_RECORD_BUDGET = RECORD_MAX_BYTES - 256  # JSON sizes here and in PostgreSQL differ a little


def _json_bytes(*values: Any) -> int:
    """Bytes of `values` as PostgreSQL prints jsonb (", " and ": " separators, UTF-8)."""
    return sum(len(json.dumps(value, ensure_ascii=False).encode()) for value in values)


def _fit(inputs: dict[str, Any], results: dict[str, Any]) -> None:
    """Cut the lists (skills, then matches, then keywords) until the record fits its budget."""
    for holder, key in ((inputs, "skills"), (results, "top_matches"),
                        (results, "missing_keywords")):
        items = holder.get(key) or []
        while items and _json_bytes(inputs, results) > _RECORD_BUDGET:
            items.pop()


def _store(session: Session, *, actor: Principal, analysis_type: str, inputs: dict[str, Any],
           results: dict[str, Any]) -> None:
    _fit(inputs, results)
    queries.add(session, AiAnalysis(user_id=actor.user_id, analysis_type=analysis_type,
                                    inputs=inputs, results=results))
    queries.trim(session, user_id=actor.user_id, keep=KEEP_PER_USER)


def record_match_jobs(session: Session, *, actor: Principal, seeker: matching.Seeker,
                      ranked: Sequence[tuple[Job, Company, matching.Match]]) -> None:
    """Store a match-jobs call for the caller's history: what was asked, the best matches."""
    _store(session, actor=actor, analysis_type=MATCH_JOBS, inputs={
        "skills": list(seeker.skills), "experience_level": seeker.experience_level or "",
        "location_preference": seeker.location or "", "salary_min": seeker.salary_min,
        "salary_max": seeker.salary_max, "remote_preference": seeker.remote,
    }, results={
        "total_matches": len(ranked),
        "top_matches": [{"job_id": job.id, "title": job.title, "match_score": match.score}
                        for job, _, match in ranked[:FEEDBACK_TOP]],
    })


def record_resume_analysis(session: Session, *, actor: Principal, resume_in: ResumeIn,
                           analysis: ResumeAnalysis) -> None:
    """Store a resume analysis for the caller's history: its size and scores, never its text."""
    fit = analysis.job_specific
    _store(session, actor=actor, analysis_type=ANALYZE_RESUME, inputs={
        "word_count": analysis.word_count, "characters": len(resume_in.resume_text),
        "target_job_id": resume_in.target_job_id,
    }, results={
        "completeness_score": analysis.completeness_score,
        "overall_rating": analysis.overall_rating,
        "job_match_percentage": fit.match_percentage if fit else None,
        "missing_keywords": list(fit.missing_keywords[:FEEDBACK_KEYWORDS]) if fit else [],
    })


@dataclasses.dataclass(frozen=True, kw_only=True)
class FeedbackIn:
    """Which page of whose history: the caller's own unless an admin names `user_id`."""

    limit: int | None = None
    offset: int | None = None
    user_id: int | None = None


@dataclasses.dataclass(frozen=True)
class FeedbackPage:
    """One page of a user's analyses, newest first, and how many are kept in all."""

    records: list[AiAnalysis]
    total: int
    window: pagination.Window


def list_feedback(session: Session, *, actor: Principal, feedback_in: FeedbackIn) -> FeedbackPage:
    """The caller's stored analyses (an admin may ask for another user's), newest first."""
    check = Validator()
    limit = pagination.limit(check, feedback_in.limit)
    offset = pagination.offset(check, feedback_in.offset)
    user_id = actor.user_id
    if feedback_in.user_id is not None:
        user_id = check.number("user_id", feedback_in.user_id, minimum=1) or actor.user_id
    check.check("Feedback parameters are invalid")
    if user_id != actor.user_id and actor.role != ADMIN:
        raise PermissionDenied("Only admins see another user's AI analyses",
                               reason="ROLE_FORBIDDEN")
    return FeedbackPage(queries.history(session, user_id=user_id, limit=limit, offset=offset),
                        queries.count(session, user_id=user_id),
                        pagination.Window(limit, offset))
