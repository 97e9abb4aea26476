"""AI matches as protobuf messages: pure functions over other modules' entities."""

from __future__ import annotations

import dataclasses
from typing import Any

from google.protobuf.message import Message

from hotgigs import visibility
from hotgigs.ai import matching, service
from hotgigs.core.protos import optional, timestamp
from hotgigs.jobs import convert as jobs_convert
from hotgigs.models import AiAnalysis, CandidateProfile, Company, Job, User
from hotgigs.users import convert as users_convert
from hotgigs.v1 import ai_pb2, candidates_pb2, common_pb2


def job_match(job: Job, company: Company, match: matching.Match) -> ai_pb2.JobMatch:
    return ai_pb2.JobMatch(job=jobs_convert.job_to_proto(job, company), match_score=match.score,
                           match_reasons=list(match.reasons))


def candidate_match(user: User, profile: CandidateProfile, match: matching.Match,
                    audiences: set[visibility.Audience]) -> ai_pb2.CandidateMatch:
    """One match; the e-mail only for the company's applicants (`hotgigs.visibility`)."""
    return ai_pb2.CandidateMatch(
        candidate=visibility.strip(candidates_pb2.CandidateSummary(
            id=user.id, first_name=user.first_name, last_name=user.last_name,
            email=user.email, profile=users_convert.user_profile(user),
            candidate_profile=users_convert.candidate_profile(profile)), audiences),
        match_score=match.score, match_reasons=list(match.reasons))


def job_summary(job: Job) -> common_pb2.JobSummary:
    return common_pb2.JobSummary(id=job.id, title=job.title, company_id=job.company_id,
                                 location=job.location or "", employment_type=job.employment_type,
                                 experience_level=job.experience_level, status=job.status,
                                 remote_work_allowed=job.remote_work_allowed)


def match_jobs_in(request: ai_pb2.MatchJobsRequest) -> service.MatchJobsIn:
    return service.MatchJobsIn(
        skills=tuple(request.skills), experience_level=request.experience_level,
        location_preference=request.location_preference,
        remote_preference=request.remote_preference, salary_min=optional(request, "salary_min"),
        salary_max=optional(request, "salary_max"), limit=optional(request, "limit"))


def resume_in(request: ai_pb2.AnalyzeResumeRequest) -> service.ResumeIn:
    return service.ResumeIn(resume_text=request.resume_text,
                            target_job_id=optional(request, "target_job_id"))


def resume_analysis(analysis: service.ResumeAnalysis) -> ai_pb2.ResumeAnalysis:
    message = ai_pb2.ResumeAnalysis(
        completeness_score=analysis.completeness_score, word_count=analysis.word_count,
        sections_present=analysis.sections_present, suggestions=analysis.suggestions,
        strengths=analysis.strengths, overall_rating=analysis.overall_rating)
    if analysis.job_specific is not None:
        message.job_specific.CopyFrom(ai_pb2.JobFitAnalysis(
            **dataclasses.asdict(analysis.job_specific)))
    return message


def feedback_in(request: ai_pb2.ListAiFeedbackRequest) -> service.FeedbackIn:
    return service.FeedbackIn(limit=optional(request, "limit"), offset=optional(request, "offset"),
                              user_id=optional(request, "user_id"))


def _known(message: type[Message], values: dict[str, Any]) -> dict[str, Any]:
    """The stored values `message` has fields for (a record written by another release may
    hold more or fewer), without the nulls of absent optional fields."""
    fields = message.DESCRIPTOR.fields_by_name
    return {key: value for key, value in values.items() if key in fields and value is not None}


def feedback_record(row: AiAnalysis) -> ai_pb2.AiFeedbackRecord:
    """A stored analysis as stored: the keys of its JSON are the message's field names."""
    record = ai_pb2.AiFeedbackRecord(id=row.id, analysis_type=row.analysis_type,
                                     created_at=timestamp(row.created_at))
    inputs, results = row.inputs, row.results
    if row.analysis_type == service.MATCH_JOBS:
        record.match_input.CopyFrom(ai_pb2.FeedbackMatchInput(
            **_known(ai_pb2.FeedbackMatchInput, inputs)))
        record.top_matches.extend(ai_pb2.FeedbackMatch(**_known(ai_pb2.FeedbackMatch, match))
                                  for match in results.get("top_matches", []))
        record.total_matches = results.get("total_matches", 0)
    else:
        record.resume_input.CopyFrom(ai_pb2.FeedbackResumeInput(
            **_known(ai_pb2.FeedbackResumeInput, inputs)))
        record.resume_result.CopyFrom(ai_pb2.FeedbackResumeResult(
            **_known(ai_pb2.FeedbackResumeResult, results)))
    return record


def feedback_page(page: service.FeedbackPage) -> ai_pb2.ListAiFeedbackResponse:
    return ai_pb2.ListAiFeedbackResponse(
        feedback_history=[feedback_record(row) for row in page.records], total_records=page.total,
        pagination=common_pb2.OffsetPagination(limit=page.window.limit, offset=page.window.offset,
                                               total=page.total))
