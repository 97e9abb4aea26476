"""`hotgigs.v1.AiService`: protobuf in, offline matching, protobuf out."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from hotgigs import visibility
from hotgigs.ai import matching, service
from hotgigs.ai.openai_rerank import OpenAiReranker, apply_order
from hotgigs.applications import service as applications_service
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.core.protos import optional
from hotgigs.db import Database
from hotgigs.jobs.convert import job_to_proto
from hotgigs.models import CandidateProfile, Company, Job, User
from hotgigs.settings import Settings
from hotgigs.users import convert as users_convert
from hotgigs.v1 import ai_pb2, ai_pb2_grpc, candidates_pb2, common_pb2


def _job_match(job: Job, company: Company, match: matching.Match) -> ai_pb2.JobMatch:
    return ai_pb2.JobMatch(job=job_to_proto(job, company), match_score=match.score,
                           match_reasons=list(match.reasons))


class AiServicer(ai_pb2_grpc.AiServiceServicer):
    """Thin transport layer over `hotgigs.ai.service`."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.reranker = OpenAiReranker(settings) if settings.openai_api_key else None

    def _rerank(self, seeker: matching.Seeker, ranked: list[Any]) -> list[Any]:
        """Let OpenAI reorder the offline top results when configured; else keep them."""
        if self.reranker is None or len(ranked) < 2:
            return ranked
        profile = (f"skills {', '.join(seeker.skills)}; level {seeker.experience_level or '?'}; "
                   f"location {seeker.location or '?'}; remote {'yes' if seeker.remote else 'no'}")
        items = [(job.id, f"{job.title}; skills {', '.join(job.skills_required or [])}; "
                          f"{job.location or ''}; {job.experience_level}")
                 for job, _, _ in ranked]
        order = self.reranker.rerank(profile, items)
        if order is None:
            return ranked
        by_id = {job.id: (job, company, match) for job, company, match in ranked}
        result = []
        for ident in apply_order([job.id for job, _, _ in ranked], order):
            job, company, match = by_id[ident]
            result.append((job, company, matching.Match(
                match.key, match.score, (*match.reasons, "Re-ranked by OpenAI"))))
        return result

    def MatchJobs(self, request: ai_pb2.MatchJobsRequest,
                  context: grpc.ServicerContext) -> ai_pb2.MatchJobsResponse:
        caller()
        raw: dict[str, Any] = {"skills": list(request.skills),
                               "experience_level": request.experience_level,
                               "location_preference": request.location_preference,
                               "remote_preference": request.remote_preference}
        for name in ("salary_min", "salary_max", "limit"):
            if request.HasField(name):
                raw[name] = getattr(request, name)
        seeker, limit = service.seeker_from_request(raw)
        with self.database.session_scope() as session:
            ranked, analysed = service.match_jobs(session, seeker=seeker, limit=limit)
            ranked = self._rerank(seeker, ranked)
            return ai_pb2.MatchJobsResponse(
                matched_jobs=[_job_match(*item) for item in ranked], total_matches=len(ranked),
                analysis_summary=ai_pb2.MatchAnalysisSummary(**service.summarise(seeker, analysed)))

    def GetJobRecommendations(self, request: ai_pb2.GetJobRecommendationsRequest,
                              context: grpc.ServicerContext
                              ) -> ai_pb2.GetJobRecommendationsResponse:
        actor = caller()
        limit = service.recommendation_limit(optional(request, "limit"))
        with self.database.session_scope() as session:
            seeker = service.seeker_for_candidate(session, actor)
            if seeker is None:  # an empty profile is normal: recent, popular jobs and a hint
                recent = service.cold_start_jobs(session, limit=limit)
                return ai_pb2.GetJobRecommendationsResponse(
                    recommended_jobs=[_job_match(*item) for item in recent],
                    total_recommendations=len(recent),
                    profile_data=ai_pb2.RecommendationProfile(),
                    cold_start=True, hint=service.COLD_START_HINT)
            ranked, _ = service.match_jobs(session, seeker=seeker, limit=limit)
            ranked = self._rerank(seeker, ranked)
            return ai_pb2.GetJobRecommendationsResponse(
                recommended_jobs=[_job_match(*item) for item in ranked],
                total_recommendations=len(ranked),
                profile_data=ai_pb2.RecommendationProfile(
                    skills=list(seeker.skills), experience_level=seeker.experience_level or "",
                    location=seeker.location or ""))

    def MatchCandidates(self, request: ai_pb2.MatchCandidatesRequest,
                        context: grpc.ServicerContext) -> ai_pb2.MatchCandidatesResponse:
        with self.database.session_scope() as session:
            actor = caller()
            job, ranked, pool = service.match_candidates(
                session, actor=actor, job_id=request.job_id,
                limit=request.limit if request.HasField("limit") else None)
            del pool
            applicants = applications_service.applicants_of(
                session, viewer_id=actor.user_id, candidate_ids=[user.id for user, _, _ in ranked])
            return ai_pb2.MatchCandidatesResponse(
                matched_candidates=[self._candidate(
                    user, profile, match, visibility.audiences(actor, subject_id=user.id,
                                                               applicant=user.id in applicants))
                    for user, profile, match in ranked],
                total_matches=len(ranked),
                job=common_pb2.JobSummary(id=job.id, title=job.title, company_id=job.company_id,
                                          location=job.location or "",
                                          employment_type=job.employment_type,
                                          experience_level=job.experience_level,
                                          status=job.status,
                                          remote_work_allowed=job.remote_work_allowed))

    @staticmethod
    def _candidate(user: User, profile: CandidateProfile, match: matching.Match,
                   audiences: set[visibility.Audience]) -> ai_pb2.CandidateMatch:
        """One match; the e-mail only for the company's applicants (`hotgigs.visibility`)."""
        return ai_pb2.CandidateMatch(
            candidate=visibility.strip(candidates_pb2.CandidateSummary(
                id=user.id, first_name=user.first_name, last_name=user.last_name,
                email=user.email, profile=users_convert.user_profile(user),
                candidate_profile=users_convert.candidate_profile(profile)), audiences),
            match_score=match.score, match_reasons=list(match.reasons))

    def AnalyzeResume(self, request: ai_pb2.AnalyzeResumeRequest,
                      context: grpc.ServicerContext) -> ai_pb2.AnalyzeResumeResponse:
        caller()
        target = request.target_job_id if request.HasField("target_job_id") else None
        with self.database.session_scope() as session:
            result = service.analyze_resume(session, resume_text=request.resume_text,
                                            target_job_id=target)
        analysis = ai_pb2.ResumeAnalysis(
            completeness_score=result["completeness_score"], word_count=result["word_count"],
            sections_present=result["sections_present"], suggestions=result["suggestions"],
            strengths=result["strengths"], overall_rating=result["overall_rating"])
        if "job_specific" in result:
            analysis.job_specific.CopyFrom(ai_pb2.JobFitAnalysis(**result["job_specific"]))
        return ai_pb2.AnalyzeResumeResponse(analysis=analysis)

    def GetAiHealth(self, request: ai_pb2.GetAiHealthRequest,
                    context: grpc.ServicerContext) -> ai_pb2.GetAiHealthResponse:
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        return ai_pb2.GetAiHealthResponse(
            status="healthy",
            service="offline matcher (skills + BM25 + fit scores)"
            + (f", re-ranked by {self.settings.openai_model}" if self.reranker else ""),
            openai_configured=self.settings.openai_api_key is not None, timestamp=now)


def build(components: Components) -> AiServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return AiServicer(components.database, components.settings)
