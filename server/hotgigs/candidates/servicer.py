"""`hotgigs.v1.CandidateService`: protobuf in, candidates service, protobuf out."""

from __future__ import annotations

import grpc
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs import visibility
from hotgigs.applications import reach
from hotgigs.candidates import service
from hotgigs.context import Principal
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.core.protos import set_fields
from hotgigs.core.rpc import ADMIN
from hotgigs.db import Database
from hotgigs.documents.servicer import document_to_proto
from hotgigs.models import Document
from hotgigs.users import convert as users_convert
from hotgigs.users import service as users_service
from hotgigs.users.servicer import CANDIDATE_FIELDS
from hotgigs.v1 import candidates_pb2, candidates_pb2_grpc


def _candidate(profile: users_service.Profile, *, public: bool,
               documents: list[Document] | None = None) -> candidates_pb2.Candidate:
    user = profile.user
    message = candidates_pb2.Candidate(
        id=user.id, first_name=user.first_name, last_name=user.last_name, email=user.email,
        profile_image_url=user.profile_image_url or "", profile=users_convert.user_profile(user),
        work_experiences=[users_convert.experience(e) for e in profile.experiences],
        education=[users_convert.education(e) for e in profile.educations])
    if profile.candidate_profile is not None:
        message.candidate_profile.CopyFrom(
            users_convert.candidate_profile(profile.candidate_profile, public=public))
    message.documents.extend(document_to_proto(d) for d in documents or [])
    return message


def _documents(session: Session, user_id: int, *, viewer: Principal) -> list[Document]:
    """The candidate's documents (metadata): all of them for the candidate and admins, for a
    company only those its open applications attached (the ones it may download)."""
    query = sa.select(Document).where(Document.owner_id == user_id)
    if viewer.user_id != user_id and viewer.role != ADMIN:
        query = query.where(Document.id.in_(reach.attached_documents(viewer.user_id, user_id)))
    return list(session.scalars(query.order_by(Document.created_at.desc())))


def _audiences(session: Session, viewer: Principal, candidate_ids: list[int]
               ) -> dict[int, set[visibility.Audience]]:
    """Who `viewer` is to each candidate (an applicant of their companies or not)."""
    applicants = reach.applicants_of(session, viewer_id=viewer.user_id,
                                     candidate_ids=candidate_ids)
    return {i: reach.audiences(viewer, subject_id=i, applicant=i in applicants)
            for i in candidate_ids}


class CandidateServicer(candidates_pb2_grpc.CandidateServiceServicer):
    """Thin transport layer over `hotgigs.candidates.service`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def SearchCandidates(self, request: candidates_pb2.SearchCandidatesRequest,
                         context: grpc.ServicerContext) -> candidates_pb2.SearchCandidatesResponse:
        raw = {"skills": list(request.skills), "location": request.location,
               "experience_level": request.experience_level,
               "availability": request.availability, "offset": request.offset,
               "remote_only": request.remote_only if request.HasField("remote_only") else False}
        for name in ("salary_min", "salary_max", "limit"):
            if request.HasField(name):
                raw[name] = getattr(request, name)
        filters, limit, offset = service.validate(raw)
        with self.database.session_scope() as session:
            actor = caller()
            hits, total = service.search(session, actor=actor, filters=filters, limit=limit,
                                         offset=offset)
            seen = _audiences(session, actor, [hit.user.id for hit in hits])
            response = candidates_pb2.SearchCandidatesResponse(
                candidates=[visibility.strip(candidates_pb2.CandidateSummary(
                    id=hit.user.id, first_name=hit.user.first_name,
                    last_name=hit.user.last_name, email=hit.user.email,
                    profile_image_url=hit.user.profile_image_url or "",
                    profile=users_convert.user_profile(hit.user),
                    candidate_profile=users_convert.candidate_profile(hit.profile),
                    experience_count=hit.experience_count), seen[hit.user.id])
                    for hit in hits])
        response.pagination.limit, response.pagination.offset = limit, offset
        response.pagination.total = total
        params = response.search_params
        params.skills.extend(filters.skills)
        for name in ("location", "experience_level", "availability", "salary_min", "salary_max"):
            value = getattr(filters, name)
            if value is not None:
                setattr(params, name, value)
        if filters.remote_only:
            params.remote_only = True
        return response

    def GetCandidate(self, request: candidates_pb2.GetCandidateRequest,
                     context: grpc.ServicerContext) -> candidates_pb2.GetCandidateResponse:
        actor = caller()
        with self.database.session_scope() as session:
            profile = service.get_candidate(session, actor=actor, candidate_id=request.id)
            candidate = _candidate(profile, public=False,
                                   documents=_documents(session, request.id, viewer=actor))
            visibility.strip(candidate, _audiences(session, actor, [request.id])[request.id])
            return candidates_pb2.GetCandidateResponse(candidate=candidate)

    def GetMyCandidateProfile(self, request: candidates_pb2.GetMyCandidateProfileRequest,
                              context: grpc.ServicerContext
                              ) -> candidates_pb2.GetMyCandidateProfileResponse:
        with self.database.session_scope() as session:
            actor = caller()
            profile = users_service.get_profile(session, actor=actor)
            return candidates_pb2.GetMyCandidateProfileResponse(profile=_candidate(
                profile, public=False, documents=_documents(session, actor.user_id,
                                                            viewer=actor)))

    def UpdateMyCandidateProfile(self, request: candidates_pb2.UpdateMyCandidateProfileRequest,
                                 context: grpc.ServicerContext
                                 ) -> candidates_pb2.UpdateMyCandidateProfileResponse:
        actor = caller()
        with self.database.session_scope() as session:
            users_service.update_candidate_profile(
                session, actor=actor, changes=set_fields(request, CANDIDATE_FIELDS),
                clear=request.clear_fields)
            session.flush()
            profile = users_service.get_profile(session, actor=actor)
            session.refresh(profile.user)
            return candidates_pb2.UpdateMyCandidateProfileResponse(
                message="Profile updated successfully", profile=_candidate(profile, public=False))

    def GetCandidateStats(self, request: candidates_pb2.GetCandidateStatsRequest,
                          context: grpc.ServicerContext
                          ) -> candidates_pb2.GetCandidateStatsResponse:
        with self.database.session_scope() as session:
            total, levels, availability = service.stats(session)
        return candidates_pb2.GetCandidateStatsResponse(statistics=candidates_pb2.CandidateStats(
            total_candidates=total, by_experience_level=levels, by_availability=availability))


def build(components: Components) -> CandidateServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return CandidateServicer(components.database)
