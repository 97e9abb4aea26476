"""Candidates as protobuf messages: pure functions over the users module's entities."""

from __future__ import annotations

from hotgigs import visibility
from hotgigs.candidates.service import Found, SearchIn
from hotgigs.core.protos import optional
from hotgigs.documents import convert as documents_convert
from hotgigs.models import Document
from hotgigs.users import convert as users_convert
from hotgigs.users import service as users_service
from hotgigs.v1 import candidates_pb2


def candidate_to_proto(profile: users_service.Profile, *, public: bool,
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
    message.documents.extend(documents_convert.document_to_proto(d) for d in documents or [])
    return message


def search_response(found: Found) -> candidates_pb2.SearchCandidatesResponse:
    """The hits as each may be seen, the window and the filters applied."""
    response = candidates_pb2.SearchCandidatesResponse(
        candidates=[visibility.strip(candidates_pb2.CandidateSummary(
            id=hit.user.id, first_name=hit.user.first_name, last_name=hit.user.last_name,
            email=hit.user.email, profile_image_url=hit.user.profile_image_url or "",
            profile=users_convert.user_profile(hit.user),
            candidate_profile=users_convert.candidate_profile(hit.profile),
            experience_count=hit.experience_count), found.audiences[hit.user.id])
            for hit in found.hits])
    response.pagination.limit, response.pagination.offset = found.search.limit, found.search.offset
    response.pagination.total = found.total
    filters, params = found.search.filters, response.search_params
    params.skills.extend(filters.skills)
    for name in ("location", "experience_level", "availability", "salary_min", "salary_max"):
        value = getattr(filters, name)
        if value is not None:
            setattr(params, name, value)
    if filters.remote_only:
        params.remote_only = True
    return response


def search_in(request: candidates_pb2.SearchCandidatesRequest) -> SearchIn:
    return SearchIn(
        skills=tuple(request.skills), location=request.location,
        experience_level=request.experience_level, availability=request.availability,
        salary_min=optional(request, "salary_min"), salary_max=optional(request, "salary_max"),
        remote_only=bool(optional(request, "remote_only")), limit=optional(request, "limit"),
        offset=request.offset)
