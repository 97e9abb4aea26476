"""`hotgigs.v1.CandidateService`: protobuf in, candidates service, protobuf out."""

from __future__ import annotations

import grpc

from hotgigs import visibility
from hotgigs.candidates import convert, service
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.users import convert as users_convert
from hotgigs.v1 import candidates_pb2, candidates_pb2_grpc


class CandidateServicer(candidates_pb2_grpc.CandidateServiceServicer):
    """Thin transport layer over `hotgigs.candidates.service`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def SearchCandidates(self, request: candidates_pb2.SearchCandidatesRequest,
                         context: grpc.ServicerContext) -> candidates_pb2.SearchCandidatesResponse:
        search = service.validate(convert.search_in(request))  # refused before any database work
        with self.database.session_scope() as session:
            found = service.search(session, actor=caller(), search=search)
            return convert.search_response(found)

    def GetCandidate(self, request: candidates_pb2.GetCandidateRequest,
                     context: grpc.ServicerContext) -> candidates_pb2.GetCandidateResponse:
        with self.database.session_scope() as session:
            view = service.get(session, actor=caller(), candidate_id=request.id)
            candidate = convert.candidate_to_proto(view.profile, public=False,
                                                   documents=view.documents)
            return candidates_pb2.GetCandidateResponse(
                candidate=visibility.strip(candidate, view.audiences))

    def GetMyCandidateProfile(self, request: candidates_pb2.GetMyCandidateProfileRequest,
                              context: grpc.ServicerContext
                              ) -> candidates_pb2.GetMyCandidateProfileResponse:
        with self.database.session_scope() as session:
            view = service.get_mine(session, actor=caller())
            return candidates_pb2.GetMyCandidateProfileResponse(profile=convert.candidate_to_proto(
                view.profile, public=False, documents=view.documents))

    def UpdateMyCandidateProfile(self, request: candidates_pb2.UpdateMyCandidateProfileRequest,
                                 context: grpc.ServicerContext
                                 ) -> candidates_pb2.UpdateMyCandidateProfileResponse:
        update_in = users_convert.candidate_profile_update_in(request)
        with self.database.session_scope() as session:
            profile = service.update_mine(session, actor=caller(), update_in=update_in)
            return candidates_pb2.UpdateMyCandidateProfileResponse(
                message="Profile updated successfully",
                profile=convert.candidate_to_proto(profile, public=False))

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
