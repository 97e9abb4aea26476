"""`hotgigs.v1.UserService`: protobuf in, users service, protobuf out."""

from __future__ import annotations

import grpc

from hotgigs.context import require_principal as caller
from hotgigs.core import pagination
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.users import convert, service
from hotgigs.v1 import common_pb2, users_pb2, users_pb2_grpc


class UserServicer(users_pb2_grpc.UserServiceServicer):
    """Thin transport layer over `hotgigs.users.service`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def GetProfile(self, request: users_pb2.GetProfileRequest,
                   context: grpc.ServicerContext) -> users_pb2.GetProfileResponse:
        with self.database.session_scope() as session:
            return convert.profile_response(service.get_profile(session, actor=caller()))

    def UpdateProfile(self, request: users_pb2.UpdateProfileRequest,
                      context: grpc.ServicerContext) -> users_pb2.UpdateProfileResponse:
        with self.database.session_scope() as session:
            user = service.update_profile(session, actor=caller(),
                                          update_in=convert.profile_update_in(request))
            return users_pb2.UpdateProfileResponse(message="Profile updated successfully",
                                                   user=convert.user_to_proto(user))

    def UpdateCandidateProfile(self, request: users_pb2.UpdateCandidateProfileRequest,
                               context: grpc.ServicerContext
                               ) -> users_pb2.UpdateCandidateProfileResponse:
        with self.database.session_scope() as session:
            profile = service.update_candidate_profile(
                session, actor=caller(), update_in=convert.candidate_profile_update_in(request))
            return users_pb2.UpdateCandidateProfileResponse(
                message="Candidate profile updated successfully",
                candidate_profile=convert.candidate_profile(profile))

    def AddExperience(self, request: users_pb2.AddExperienceRequest,
                      context: grpc.ServicerContext) -> users_pb2.AddExperienceResponse:
        with self.database.session_scope() as session:
            entry = service.create_experience(session, actor=caller(),
                                              experience_in=convert.experience_in(request))
            response = users_pb2.AddExperienceResponse(message="Experience added successfully",
                                                       experience=convert.experience(entry))
        return response

    def UpdateExperience(self, request: users_pb2.UpdateExperienceRequest,
                         context: grpc.ServicerContext) -> users_pb2.UpdateExperienceResponse:
        with self.database.session_scope() as session:
            entry = service.update_experience(session, actor=caller(), experience_id=request.id,
                                              update_in=convert.experience_update_in(request))
            return users_pb2.UpdateExperienceResponse(message="Experience updated successfully",
                                                      experience=convert.experience(entry))

    def DeleteExperience(self, request: users_pb2.DeleteExperienceRequest,
                         context: grpc.ServicerContext) -> users_pb2.DeleteExperienceResponse:
        with self.database.session_scope() as session:
            service.delete_experience(session, actor=caller(), experience_id=request.id)
        return users_pb2.DeleteExperienceResponse(message="Experience deleted successfully")

    def AddEducation(self, request: users_pb2.AddEducationRequest,
                     context: grpc.ServicerContext) -> users_pb2.AddEducationResponse:
        with self.database.session_scope() as session:
            entry = service.create_education(session, actor=caller(),
                                             education_in=convert.education_in(request))
            response = users_pb2.AddEducationResponse(message="Education added successfully",
                                                      education=convert.education(entry))
        return response

    def UpdateEducation(self, request: users_pb2.UpdateEducationRequest,
                        context: grpc.ServicerContext) -> users_pb2.UpdateEducationResponse:
        with self.database.session_scope() as session:
            entry = service.update_education(session, actor=caller(), education_id=request.id,
                                             update_in=convert.education_update_in(request))
            return users_pb2.UpdateEducationResponse(message="Education updated successfully",
                                                     education=convert.education(entry))

    def DeleteEducation(self, request: users_pb2.DeleteEducationRequest,
                        context: grpc.ServicerContext) -> users_pb2.DeleteEducationResponse:
        with self.database.session_scope() as session:
            service.delete_education(session, actor=caller(), education_id=request.id)
        return users_pb2.DeleteEducationResponse(message="Education deleted successfully")

    def SearchUsers(self, request: users_pb2.SearchUsersRequest,
                    context: grpc.ServicerContext) -> users_pb2.SearchUsersResponse:
        actor = caller()
        limit = request.limit if request.HasField("limit") else None
        with self.database.session_scope() as session:
            users, total = service.search_users(session, actor=actor, q=request.q,
                                                user_type=request.type, limit=limit,
                                                offset=request.offset)
            return users_pb2.SearchUsersResponse(
                users=[convert.user_summary(user, viewer=actor) for user in users],
                pagination=common_pb2.OffsetPagination(
                    limit=limit or pagination.LIMIT_DEFAULT, offset=request.offset,
                    total=total))

    def GetUser(self, request: users_pb2.GetUserRequest,
                context: grpc.ServicerContext) -> users_pb2.GetUserResponse:
        with self.database.session_scope() as session:
            profile = service.get_public_profile(session, user_id=request.id)
            return users_pb2.GetUserResponse(user=convert.public_user(profile))


def build(components: Components) -> UserServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return UserServicer(components.database)
