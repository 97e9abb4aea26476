"""Users: the caller's profile, candidate profile, work history and education; user search
and public profiles. Plain Python on a SQLAlchemy session; never commits.

Updates take `changes` (only the fields the caller sent; an empty string clears a text field)
and `clear` (field names to reset to empty/null, for numbers and dates).
Another user's experience or education entry answers NOT_FOUND, so ids cannot be probed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from hotgigs.context import Principal
from hotgigs.errors import FieldViolation, InvalidArgument, NotFound
from hotgigs.models import (
    AVAILABILITIES,
    CURRENCIES,
    EXPERIENCE_LEVELS,
    USER_TYPES,
    CandidateProfile,
    Education,
    Experience,
    User,
)
from hotgigs.security.policy import CANDIDATE, ROLE_ALIASES
from hotgigs.users import queries
from hotgigs.validation import Validator

NAME_MAX, TITLE_MAX, URL_MAX, BIO_MAX, TEXT_MAX = 100, 200, 500, 2000, 5000
SKILLS_MAX, SKILL_LENGTH, ACHIEVEMENTS_MAX, ACHIEVEMENT_LENGTH = 50, 50, 20, 300
SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX = 20, 100


@dataclasses.dataclass(frozen=True)
class Profile:
    """Everything GetProfile shows."""

    user: User
    candidate_profile: CandidateProfile | None
    experiences: list[Experience]
    educations: list[Education]


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _refuse_unknown(clear: Iterable[str], allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    unknown = sorted(set(clear) - set(allowed))
    if unknown:
        raise InvalidArgument("Unknown field in clear_fields", [
            FieldViolation("clear_fields", f"cannot clear {name}; clearable: {', '.join(allowed)}")
            for name in unknown])


def get_user_or_raise(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound("User not found", reason="USER_NOT_FOUND")
    return user


def get_profile(session: Session, *, actor: Principal) -> Profile:
    user = get_user_or_raise(session, user_id=actor.user_id)
    if user.user_type != CANDIDATE:
        return Profile(user, None, [], [])
    return Profile(user, session.get(CandidateProfile, user.id),
                   queries.experiences_of(session, user.id), queries.educations_of(session, user.id))


# ---- account profile ---------------------------------------------------------------------------
_PROFILE_TEXT = {"first_name": NAME_MAX, "last_name": NAME_MAX, "phone": 32, "bio": BIO_MAX,
                 "location": TITLE_MAX}
_PROFILE_URLS = ("profile_image_url", "linkedin_url", "github_url", "portfolio_url")


def update_profile(session: Session, *, actor: Principal, changes: Mapping[str, Any]) -> User:
    user = get_user_or_raise(session, user_id=actor.user_id)
    check = Validator()
    values: dict[str, Any] = {}
    for field, limit in _PROFILE_TEXT.items():
        if field in changes:
            required = field in ("first_name", "last_name")
            values[field] = check.text(field, changes[field], max_length=limit, required=required,
                                       multiline=field == "bio")
    for field in _PROFILE_URLS:
        if field in changes:
            values[field] = check.url(field, changes[field], max_length=URL_MAX)
    check.check("Profile data is invalid")
    for field, value in values.items():
        required = field in ("first_name", "last_name")
        setattr(user, field, value if required else (value or None))
    return user


# ---- candidate profile -------------------------------------------------------------------------
_CANDIDATE_CLEARABLE = ("headline", "current_title", "current_company", "experience_years",
                        "experience_level", "skills", "availability", "desired_salary_min",
                        "desired_salary_max")


def update_candidate_profile(session: Session, *, actor: Principal, changes: Mapping[str, Any],
                             clear: Iterable[str] = ()) -> CandidateProfile:
    """Update (creating on first use) the caller's candidate profile; bio, location and links
    go to the account profile as in the original API."""
    user = get_user_or_raise(session, user_id=actor.user_id)
    clear = set(clear)
    _refuse_unknown(clear, _CANDIDATE_CLEARABLE)
    account_fields = {k: v for k, v in changes.items() if k in (*_PROFILE_TEXT, *_PROFILE_URLS)}
    if account_fields:
        update_profile(session, actor=actor, changes=account_fields)
    profile = session.get(CandidateProfile, user.id, with_for_update=True)
    if profile is None:
        profile = CandidateProfile(user_id=user.id)
        session.add(profile)
    check = Validator()
    if "headline" in changes:
        profile.headline = check.text("headline", changes["headline"], max_length=TITLE_MAX) or None
    if "current_title" in changes:
        profile.current_title = check.text("current_title", changes["current_title"],
                                           max_length=TITLE_MAX) or None
    if "current_company" in changes:
        profile.current_company = check.text("current_company", changes["current_company"],
                                             max_length=TITLE_MAX) or None
    if "experience_years" in changes:
        profile.years_experience = check.number("experience_years", changes["experience_years"],
                                                minimum=0, maximum=70)
    if "experience_level" in changes:
        profile.experience_level = check.choice("experience_level", changes["experience_level"],
                                                EXPERIENCE_LEVELS)
    if changes.get("skills"):  # lower-case, so search can match them with the GIN index
        profile.skills = [s.lower() for s in check.text_list(
            "skills", changes["skills"], max_items=SKILLS_MAX, max_length=SKILL_LENGTH)]
    if "location" in changes:  # mirrored from the account profile for the indexed search
        profile.location = check.text("location", changes["location"],
                                      max_length=TITLE_MAX) or None
    if "availability" in changes:
        profile.availability = check.choice("availability", changes["availability"], AVAILABILITIES)
    if "desired_salary_min" in changes:
        profile.salary_min = check.number("desired_salary_min", changes["desired_salary_min"],
                                          minimum=0, maximum=100_000_000)
    if "desired_salary_max" in changes:
        profile.salary_max = check.number("desired_salary_max", changes["desired_salary_max"],
                                          minimum=0, maximum=100_000_000)
    if "currency" in changes:
        profile.currency = check.choice("currency", changes["currency"], CURRENCIES,
                                        required=True) or profile.currency
    if "remote_preference" in changes:
        profile.remote_preference = bool(changes["remote_preference"])
    if "willing_to_relocate" in changes:
        profile.willing_to_relocate = bool(changes["willing_to_relocate"])
    column = {"experience_years": "years_experience", "desired_salary_min": "salary_min",
              "desired_salary_max": "salary_max"}
    for field in clear:
        setattr(profile, column.get(field, field), [] if field == "skills" else None)
    if (profile.salary_min is not None and profile.salary_max is not None
            and profile.salary_min > profile.salary_max):
        check.fail("desired_salary_min", "must not exceed desired_salary_max")
    check.check("Candidate profile data is invalid")
    session.flush()
    return profile


# ---- work experience ---------------------------------------------------------------------------
def _validated_period(check: Validator, start: dt.date | None, end: dt.date | None,
                      is_current: bool) -> dt.date | None:
    if is_current:
        return None
    if start is not None and end is not None and end < start:
        check.fail("end_date", "must not be before start_date")
    return end


def add_experience(session: Session, *, actor: Principal, experience_in: Mapping[str, Any]
                   ) -> Experience:
    get_user_or_raise(session, user_id=actor.user_id)
    check = Validator()
    company = check.text("company_name", experience_in.get("company_name"), max_length=TITLE_MAX,
                         required=True)
    title = check.text("job_title", experience_in.get("job_title"), max_length=TITLE_MAX,
                       required=True)
    start = _date(check.date("start_date", experience_in.get("start_date"), required=True))
    end = _date(check.date("end_date", experience_in.get("end_date")))
    is_current = bool(experience_in.get("is_current"))
    entry = Experience(
        user_id=actor.user_id, company=company, title=title,
        location=check.text("location", experience_in.get("location"), max_length=TITLE_MAX) or None,
        description=check.text("description", experience_in.get("description"),
                               max_length=TEXT_MAX, multiline=True) or None,
        start_date=start, end_date=_validated_period(check, start, end, is_current),
        is_current=is_current,
        achievements=check.text_list("achievements", experience_in.get("achievements", ()),
                                     max_items=ACHIEVEMENTS_MAX, max_length=ACHIEVEMENT_LENGTH),
        skills_used=check.text_list("skills_used", experience_in.get("skills_used", ()),
                                    max_items=SKILLS_MAX, max_length=SKILL_LENGTH),
    )
    check.check("Work experience data is invalid")
    session.add(entry)
    session.flush()
    return entry


def _own(session: Session, model: type[Experience] | type[Education], entry_id: int,
         actor: Principal) -> Any:
    entry = session.get(model, entry_id, with_for_update=True)
    if not isinstance(entry, (Experience, Education)) or entry.user_id != actor.user_id:
        noun = "Work experience" if model is Experience else "Education entry"
        raise NotFound(f"{noun} {entry_id} not found", reason="ENTRY_NOT_FOUND")
    return entry


def update_experience(session: Session, *, actor: Principal, experience_id: int,
                      changes: Mapping[str, Any], clear: Iterable[str] = ()) -> Experience:
    entry: Experience = _own(session, Experience, experience_id, actor)
    clear = set(clear)
    _refuse_unknown(clear, ("description", "location", "end_date", "achievements", "skills_used"))
    check = Validator()
    if "company_name" in changes:
        entry.company = check.text("company_name", changes["company_name"], max_length=TITLE_MAX,
                                   required=True) or entry.company
    if "job_title" in changes:
        entry.title = check.text("job_title", changes["job_title"], max_length=TITLE_MAX,
                                 required=True) or entry.title
    if "location" in changes:
        entry.location = check.text("location", changes["location"], max_length=TITLE_MAX) or None
    if "description" in changes:
        entry.description = check.text("description", changes["description"],
                                       max_length=TEXT_MAX, multiline=True) or None
    if "start_date" in changes:
        entry.start_date = _date(check.date("start_date", changes["start_date"],
                                            required=True)) or entry.start_date
    if "end_date" in changes:
        entry.end_date = _date(check.date("end_date", changes["end_date"]))
    if "is_current" in changes:
        entry.is_current = bool(changes["is_current"])
    if changes.get("achievements"):
        entry.achievements = check.text_list("achievements", changes["achievements"],
                                             max_items=ACHIEVEMENTS_MAX,
                                             max_length=ACHIEVEMENT_LENGTH)
    if changes.get("skills_used"):
        entry.skills_used = check.text_list("skills_used", changes["skills_used"],
                                            max_items=SKILLS_MAX, max_length=SKILL_LENGTH)
    for field in clear:
        setattr(entry, field, [] if field in ("achievements", "skills_used") else None)
    entry.end_date = _validated_period(check, entry.start_date, entry.end_date, entry.is_current)
    check.check("Work experience data is invalid")
    session.flush()
    return entry


def delete_experience(session: Session, *, actor: Principal, experience_id: int) -> None:
    session.delete(_own(session, Experience, experience_id, actor))


# ---- education -----------------------------------------------------------------------------------
def _gpa(check: Validator, value: float | None) -> Decimal | None:
    if value is None:
        return None
    if not 0 <= value <= 10:
        check.fail("gpa", "must be between 0 and 10")
        return None
    return Decimal(str(round(value, 2)))


def add_education(session: Session, *, actor: Principal, education_in: Mapping[str, Any]
                  ) -> Education:
    get_user_or_raise(session, user_id=actor.user_id)
    check = Validator()
    start = _date(check.date("start_date", education_in.get("start_date")))
    end = _date(check.date("end_date", education_in.get("end_date")))
    entry = Education(
        user_id=actor.user_id,
        institution=check.text("institution_name", education_in.get("institution_name"),
                               max_length=TITLE_MAX, required=True),
        degree=check.text("degree", education_in.get("degree"), max_length=TITLE_MAX) or None,
        field_of_study=check.text("field_of_study", education_in.get("field_of_study"),
                                  max_length=TITLE_MAX) or None,
        start_date=start, end_date=_validated_period(check, start, end, False),
        gpa=_gpa(check, education_in.get("gpa")),
        description=check.text("description", education_in.get("description"),
                               max_length=TEXT_MAX, multiline=True) or None,
        achievements=check.text_list("achievements", education_in.get("achievements", ()),
                                     max_items=ACHIEVEMENTS_MAX, max_length=ACHIEVEMENT_LENGTH),
    )
    check.check("Education data is invalid")
    session.add(entry)
    session.flush()
    return entry


def update_education(session: Session, *, actor: Principal, education_id: int,
                     changes: Mapping[str, Any], clear: Iterable[str] = ()) -> Education:
    entry: Education = _own(session, Education, education_id, actor)
    clear = set(clear)
    _refuse_unknown(clear, ("degree", "field_of_study", "start_date", "end_date", "gpa",
                            "description", "achievements"))
    check = Validator()
    if "institution_name" in changes:
        entry.institution = check.text("institution_name", changes["institution_name"],
                                       max_length=TITLE_MAX, required=True) or entry.institution
    for field in ("degree", "field_of_study"):
        if field in changes:
            setattr(entry, field, check.text(field, changes[field], max_length=TITLE_MAX) or None)
    if "description" in changes:
        entry.description = check.text("description", changes["description"],
                                       max_length=TEXT_MAX, multiline=True) or None
    if "start_date" in changes:
        entry.start_date = _date(check.date("start_date", changes["start_date"]))
    if "end_date" in changes:
        entry.end_date = _date(check.date("end_date", changes["end_date"]))
    if "gpa" in changes:
        entry.gpa = _gpa(check, changes["gpa"])
    if changes.get("achievements"):
        entry.achievements = check.text_list("achievements", changes["achievements"],
                                             max_items=ACHIEVEMENTS_MAX,
                                             max_length=ACHIEVEMENT_LENGTH)
    for field in clear:
        setattr(entry, field, [] if field == "achievements" else None)
    _validated_period(check, entry.start_date, entry.end_date, False)
    check.check("Education data is invalid")
    session.flush()
    return entry


def delete_education(session: Session, *, actor: Principal, education_id: int) -> None:
    session.delete(_own(session, Education, education_id, actor))


# ---- search and public profiles ------------------------------------------------------------------
def search_users(session: Session, *, actor: Principal, q: str, user_type: str,
                 limit: int | None, offset: int) -> tuple[list[User], int]:
    """Active users whose name or e-mail starts with / contains `q` (see queries)."""
    check = Validator()
    term = check.text("q", q, max_length=100, required=True)
    role = check.choice("type", user_type.strip().lower() or None, USER_TYPES,
                        aliases=ROLE_ALIASES)
    page = check.number("limit", SEARCH_LIMIT_DEFAULT if limit is None else limit,
                        minimum=1, maximum=SEARCH_LIMIT_MAX)
    check.number("offset", offset, minimum=0, maximum=100_000)
    check.check("Search parameters are invalid")
    del actor  # every signed-in user may search; e-mails are shown per convert.user_summary
    return queries.search_users(session, term=term or "", user_type=role,
                                limit=page or SEARCH_LIMIT_DEFAULT, offset=offset)


def public_profile(session: Session, *, user_id: int) -> Profile:
    """The public view of a user: candidate details only when the profile is public."""
    user = get_user_or_raise(session, user_id=user_id)
    if user.user_type != CANDIDATE:
        return Profile(user, None, [], [])
    profile = session.get(CandidateProfile, user.id)
    if profile is None or not profile.is_public:
        return Profile(user, None, [], [])
    return Profile(user, profile, queries.experiences_of(session, user.id),
                   queries.educations_of(session, user.id))
