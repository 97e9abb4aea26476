"""`hotgigs.v1.AiService`: protobuf in, offline matching, protobuf out."""

from __future__ import annotations

import grpc
from google.protobuf import timestamp_pb2

from hotgigs.ai import convert, service
from hotgigs.ai.openai_rerank import OpenAiReranker
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.core.protos import optional
from hotgigs.db import Database
from hotgigs.settings import Settings
from hotgigs.v1 import ai_pb2, ai_pb2_grpc


class AiServicer(ai_pb2_grpc.AiServiceServicer):
    """Thin transport layer over `hotgigs.ai.service`."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.reranker = OpenAiReranker(settings) if settings.openai_api_key else None

    def MatchJobs(self, request: ai_pb2.MatchJobsRequest,
                  context: grpc.ServicerContext) -> ai_pb2.MatchJobsResponse:
        actor = caller()
        seeker, limit = service.seeker(convert.match_jobs_in(request))
        with self.database.session_scope() as session:
            ranked, analysed = service.match_jobs(session, seeker=seeker, limit=limit)
            ranked = service.rerank(self.reranker, seeker, ranked)
            service.record_match_jobs(session, actor=actor, seeker=seeker, ranked=ranked)
            return ai_pb2.MatchJobsResponse(
                matched_jobs=[convert.job_match(*item) for item in ranked], total_matches=len(ranked),
                analysis_summary=ai_pb2.MatchAnalysisSummary(**service.summarise(seeker, analysed)))

    def GetJobRecommendations(self, request: ai_pb2.GetJobRecommendationsRequest,
                              context: grpc.ServicerContext
                              ) -> ai_pb2.GetJobRecommendationsResponse:
        actor = caller()
        with self.database.session_scope() as session:
            found = service.recommend_jobs(session, actor=actor, limit=optional(request, "limit"),
                                           reranker=self.reranker)
            jobs = [convert.job_match(*item) for item in found.jobs]
        if found.seeker is None:
            return ai_pb2.GetJobRecommendationsResponse(
                recommended_jobs=jobs, total_recommendations=len(jobs),
                profile_data=ai_pb2.RecommendationProfile(), cold_start=True,
                hint=service.COLD_START_HINT)
        seeker = found.seeker
        return ai_pb2.GetJobRecommendationsResponse(
            recommended_jobs=jobs, total_recommendations=len(jobs),
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
            seen = service.audiences_of(session, actor=actor,
                                        candidate_ids=[user.id for user, _, _ in ranked])
            return ai_pb2.MatchCandidatesResponse(
                matched_candidates=[convert.candidate_match(user, profile, match, seen[user.id])
                                    for user, profile, match in ranked],
                total_matches=len(ranked), job=convert.job_summary(job))

    def AnalyzeResume(self, request: ai_pb2.AnalyzeResumeRequest,
                      context: grpc.ServicerContext) -> ai_pb2.AnalyzeResumeResponse:
        actor = caller()
        resume_in = convert.resume_in(request)
        with self.database.session_scope() as session:
            analysis = service.analyze_resume(session, resume_in=resume_in)
            service.record_resume_analysis(session, actor=actor, resume_in=resume_in,
                                           analysis=analysis)
        return ai_pb2.AnalyzeResumeResponse(analysis=convert.resume_analysis(analysis))

    def ListAiFeedback(self, request: ai_pb2.ListAiFeedbackRequest,
                       context: grpc.ServicerContext) -> ai_pb2.ListAiFeedbackResponse:
        actor = caller()
        feedback_in = convert.feedback_in(request)
        with self.database.session_scope() as session:
            page = service.list_feedback(session, actor=actor, feedback_in=feedback_in)
            return convert.feedback_page(page)

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
