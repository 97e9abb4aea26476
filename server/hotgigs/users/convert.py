"""Pure conversions between users-module models and protobuf messages."""

from __future__ import annotations

import datetime as dt

from hotgigs import visibility
from hotgigs.context import Principal
from hotgigs.core.protos import all_fields, set_fields, timestamp
from hotgigs.models import CandidateProfile, Education, Experience, User
from hotgigs.users.service import (
    CandidateProfileUpdateIn,
    EducationIn,
    EducationUpdateIn,
    ExperienceIn,
    ExperienceUpdateIn,
    Profile,
    ProfileUpdateIn,
)
from hotgigs.v1 import candidates_pb2, common_pb2, users_pb2

#: The fields of a candidate-profile update (UpdateCandidateProfile, UpdateMyCandidateProfile).
CANDIDATE_FIELDS = ("headline", "current_title", "current_company", "experience_years",
                     "experience_level", "skills", "availability", "desired_salary_min",
                     "desired_salary_max", "currency", "remote_preference", "willing_to_relocate",
                     "bio", "location", "linkedin_url", "github_url", "portfolio_url")


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


def user_profile(user: User) -> common_pb2.UserProfile:
    return common_pb2.UserProfile(bio=user.bio or "", location=user.location or "",
                                  linkedin_url=user.linkedin_url or "",
                                  github_url=user.github_url or "",
                                  portfolio_url=user.portfolio_url or "")


def account_to_proto(user: User) -> common_pb2.User:
    """The account as its owner (or an admin) sees it, without the profile."""
    return common_pb2.User(
        id=user.id, email=user.email, first_name=user.first_name, last_name=user.last_name,
        user_type=user.user_type, phone=user.phone or "",
        profile_image_url=user.profile_image_url or "",
        is_active=user.is_active, is_verified=user.email_verified_at is not None,
        created_at=timestamp(user.created_at), updated_at=timestamp(user.updated_at),
        last_login_at=timestamp(user.last_login_at),
    )


def user_to_proto(user: User) -> common_pb2.User:
    """The account as its owner sees it, profile included."""
    message = account_to_proto(user)
    message.profile.CopyFrom(user_profile(user))
    return message


def user_summary(user: User, *, viewer: Principal) -> common_pb2.UserSummary:
    """A search hit; the e-mail only for the user themself and admins (`hotgigs.visibility`)."""
    return visibility.strip(common_pb2.UserSummary(
        id=user.id, first_name=user.first_name, last_name=user.last_name,
        user_type=user.user_type, profile_image_url=user.profile_image_url or "",
        email=user.email), visibility.audiences(viewer, subject_id=user.id))


def candidate_profile(profile: CandidateProfile, *, public: bool = False) -> users_pb2.CandidateProfile:
    """The candidate profile; `public` leaves the desired salaries out."""
    message = users_pb2.CandidateProfile(
        user_id=profile.user_id, headline=profile.headline or "",
        current_title=profile.current_title or "", current_company=profile.current_company or "",
        experience_level=profile.experience_level or "", skills=list(profile.skills or []),
        availability=profile.availability or "", currency=profile.currency,
        remote_preference=profile.remote_preference,
        willing_to_relocate=profile.willing_to_relocate,
        created_at=timestamp(profile.created_at), updated_at=timestamp(profile.updated_at))
    if profile.years_experience is not None:
        message.experience_years = profile.years_experience
    if not public:
        if profile.salary_min is not None:
            message.desired_salary_min = profile.salary_min
        if profile.salary_max is not None:
            message.desired_salary_max = profile.salary_max
    return message


def experience(entry: Experience) -> users_pb2.WorkExperience:
    return users_pb2.WorkExperience(
        id=entry.id, company_name=entry.company, job_title=entry.title,
        description=entry.description or "", location=entry.location or "",
        start_date=_day(entry.start_date), end_date=_day(entry.end_date),
        is_current=entry.is_current, achievements=list(entry.achievements or []),
        skills_used=list(entry.skills_used or []), created_at=timestamp(entry.created_at),
        updated_at=timestamp(entry.updated_at))


def education(entry: Education) -> users_pb2.Education:
    message = users_pb2.Education(
        id=entry.id, institution_name=entry.institution, degree=entry.degree or "",
        field_of_study=entry.field_of_study or "", start_date=_day(entry.start_date),
        end_date=_day(entry.end_date), description=entry.description or "",
        achievements=list(entry.achievements or []), created_at=timestamp(entry.created_at),
        updated_at=timestamp(entry.updated_at))
    if entry.gpa is not None:
        message.gpa = float(entry.gpa)
    return message


def profile_response(profile: Profile) -> users_pb2.GetProfileResponse:
    response = users_pb2.GetProfileResponse(
        user=user_to_proto(profile.user),
        work_experiences=[experience(e) for e in profile.experiences],
        education=[education(e) for e in profile.educations])
    if profile.candidate_profile is not None:
        response.candidate_profile.CopyFrom(candidate_profile(profile.candidate_profile))
    return response


def public_user(profile: Profile) -> users_pb2.PublicUser:
    """Public fields only: never e-mail, phone, activity or lockout data."""
    user = profile.user
    message = users_pb2.PublicUser(
        id=user.id, first_name=user.first_name, last_name=user.last_name,
        user_type=user.user_type, profile_image_url=user.profile_image_url or "",
        profile=user_profile(user),
        work_experiences=[experience(e) for e in profile.experiences],
        education=[education(e) for e in profile.educations])
    if profile.candidate_profile is not None:
        message.candidate_profile.CopyFrom(candidate_profile(profile.candidate_profile, public=True))
    return message


# ---- requests -> typed inputs ----------------------------------------------------------------
_PROFILE_FIELDS = ("first_name", "last_name", "phone", "profile_image_url", "bio", "location",
                   "linkedin_url", "github_url", "portfolio_url")
_EXPERIENCE_FIELDS = ("company_name", "job_title", "description", "location", "start_date",
                      "end_date", "is_current", "achievements", "skills_used")
_EDUCATION_FIELDS = ("institution_name", "degree", "field_of_study", "start_date", "end_date",
                     "gpa", "description", "achievements")


def profile_update_in(request: users_pb2.UpdateProfileRequest) -> ProfileUpdateIn:
    return ProfileUpdateIn(**set_fields(request, _PROFILE_FIELDS))


def candidate_profile_update_in(request: users_pb2.UpdateCandidateProfileRequest
                                | candidates_pb2.UpdateMyCandidateProfileRequest
                                ) -> CandidateProfileUpdateIn:
    """The changes of UpdateCandidateProfile or UpdateMyCandidateProfile (same fields)."""
    return CandidateProfileUpdateIn(**set_fields(request, CANDIDATE_FIELDS),
                                    clear=tuple(request.clear_fields))


def experience_in(request: users_pb2.AddExperienceRequest) -> ExperienceIn:
    return ExperienceIn(**all_fields(request))


def experience_update_in(request: users_pb2.UpdateExperienceRequest) -> ExperienceUpdateIn:
    return ExperienceUpdateIn(**set_fields(request, _EXPERIENCE_FIELDS),
                              clear=tuple(request.clear_fields))


def education_in(request: users_pb2.AddEducationRequest) -> EducationIn:
    return EducationIn(**all_fields(request))


def education_update_in(request: users_pb2.UpdateEducationRequest) -> EducationUpdateIn:
    return EducationUpdateIn(**set_fields(request, _EDUCATION_FIELDS),
                             clear=tuple(request.clear_fields))
