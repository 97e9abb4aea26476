"""Users: the caller's profile, candidate profile, work history and education; user search
and public profiles. Plain Python on a SQLAlchemy session; raises domain errors; never commits.

Conventions of every update here:
- the `...UpdateIn` input holds only the fields the caller sent (proto field names; None: not
  sent); absent fields stay as they are. An empty string clears an optional text field; a
  required one refuses it.
- `clear` names fields to reset to empty/null (numbers, dates, lists). An unknown name, a name
  that cannot be cleared, or a field both sent and cleared is a field violation `clear_fields`.
- Every problem of one request is reported at once (one `InvalidArgument`, a violation per
  field), and nothing is written unless the whole request is valid.
- Another user's experience or education entry answers NOT_FOUND, exactly like a missing one,
  so entry ids cannot be probed.
- Only candidates have a candidate profile, work history and education (PermissionDenied for
  the others; the policy table already keeps other roles out of those RPCs).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TypeVar

from sqlalchemy import TableClause
from sqlalchemy.orm import Session

from hotgigs.context import Principal
from hotgigs.core import inputs, limits, pagination
from hotgigs.core.rpc import CANDIDATE, ROLE_ALIASES
from hotgigs.db import Reader
from hotgigs.errors import NotFound, PermissionDenied
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
from hotgigs.users import queries
from hotgigs.validation import Validator

NAME_MAX, TITLE_MAX, URL_MAX, PHONE_MAX = limits.NAME, limits.TITLE, limits.URL, limits.PHONE
BIO_MAX, TEXT_MAX = limits.TEXT, limits.LONG_TEXT
SKILLS_MAX, SKILL_LENGTH, ACHIEVEMENTS_MAX, ACHIEVEMENT_LENGTH = 50, limits.TAG, 20, 300
EXPERIENCE_YEARS_MAX, SALARY_MAX = 70, 100_000_000
#: GPA scales in use run from 0-4 (US) to 0-10 (India, the Netherlands): the column allows 0-10.
GPA_MAX: Final = 10
SEARCH_TERM_MAX = 100
R = TypeVar("R", User, CandidateProfile, Experience, Education)


@dataclasses.dataclass(frozen=True)
class Profile:
    """Everything GetProfile (and a public profile) shows."""

    user: User
    candidate_profile: CandidateProfile | None
    experiences: list[Experience]
    educations: list[Education]


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProfileUpdateIn:
    """Changes to the caller's account profile; None: not given (unchanged)."""

    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    profile_image_url: str | None = None
    bio: str | None = None
    location: str | None = None
    linkedin_url: str | None = None
    github_url: str | None = None
    portfolio_url: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class CandidateProfileUpdateIn:
    """Changes to the caller's candidate profile (bio, location and links go to the account);
    None: not given; `clear`: fields to reset (CANDIDATE_CLEARABLE)."""

    headline: str | None = None
    current_title: str | None = None
    current_company: str | None = None
    experience_years: int | None = None
    experience_level: str | None = None
    skills: Sequence[str] | None = None
    availability: str | None = None
    desired_salary_min: int | None = None
    desired_salary_max: int | None = None
    currency: str | None = None
    remote_preference: bool | None = None
    willing_to_relocate: bool | None = None
    bio: str | None = None
    location: str | None = None
    linkedin_url: str | None = None
    github_url: str | None = None
    portfolio_url: str | None = None
    clear: Sequence[str] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExperienceIn:
    """A work-history entry: company_name, job_title and start_date required (ISO dates)."""

    company_name: str | None = None
    job_title: str | None = None
    description: str | None = None
    location: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    is_current: bool | None = None
    achievements: Sequence[str] | None = None
    skills_used: Sequence[str] | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExperienceUpdateIn(ExperienceIn):
    """Changes to an entry: the fields given, and those to reset (EXPERIENCE_CLEARABLE)."""

    clear: Sequence[str] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class EducationIn:
    """An education entry: institution_name required; dates optional (ISO)."""

    institution_name: str | None = None
    degree: str | None = None
    field_of_study: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    gpa: float | None = None
    description: str | None = None
    achievements: Sequence[str] | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class EducationUpdateIn(EducationIn):
    """Changes to an entry: the fields given, and those to reset (EDUCATION_CLEARABLE)."""

    clear: Sequence[str] = ()


# ---- helpers -------------------------------------------------------------------------------------
def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _check_clear(check: Validator, changes: Mapping[str, Any], clear: set[str],
                 clearable: tuple[str, ...]) -> None:
    for name in sorted(clear):
        if name not in clearable:
            check.fail("clear_fields", f"cannot clear {name!r}; clearable: {', '.join(clearable)}")
        elif name in changes:
            check.fail("clear_fields", f"{name!r} is both given a value and cleared")


def _check_period(check: Validator, start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None and end < start:
        check.fail("end_date", "must not be before start_date")


def _fresh(session: Session, row: R) -> R:
    """`row` with its database-set columns (timestamps) loaded, for the answer."""
    session.flush()
    session.refresh(row)
    return row


def get_user_or_raise(session: Session, *, user_id: int) -> User:
    """An active account; inactive and unknown ones are both NOT_FOUND."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound("User not found", reason="USER_NOT_FOUND")
    return user


def _candidate_or_raise(session: Session, actor: Principal) -> User:
    user = get_user_or_raise(session, user_id=actor.user_id)
    if user.user_type != CANDIDATE:
        raise PermissionDenied("Only candidates have a candidate profile, work history and "
                               "education", reason="CANDIDATES_ONLY")
    return user


def _own(session: Session, model: type[Experience] | type[Education], entry_id: int,
         actor: Principal) -> Any:
    """The caller's entry, locked; someone else's is NOT_FOUND like a missing one."""
    entry = session.get(model, entry_id, with_for_update=True)
    if not isinstance(entry, (Experience, Education)) or entry.user_id != actor.user_id:
        noun = "Work experience" if model is Experience else "Education entry"
        raise NotFound(f"{noun} {entry_id} not found", reason="ENTRY_NOT_FOUND")
    return entry


def get_profile(session: Session, *, actor: Principal) -> Profile:
    """The caller's account; for candidates also the candidate profile and history."""
    user = get_user_or_raise(session, user_id=actor.user_id)
    if user.user_type != CANDIDATE:
        return Profile(user, None, [], [])
    return Profile(user, session.get(CandidateProfile, user.id),
                   queries.experiences_of(session, user.id), queries.educations_of(session, user.id))


# ---- account profile ---------------------------------------------------------------------------
_ACCOUNT_TEXT: Final = {"first_name": NAME_MAX, "last_name": NAME_MAX, "phone": PHONE_MAX,
                        "bio": BIO_MAX, "location": TITLE_MAX}
_ACCOUNT_REQUIRED: Final = ("first_name", "last_name")
_ACCOUNT_URLS: Final = ("profile_image_url", "linkedin_url", "github_url", "portfolio_url")
#: What UpdateCandidateProfile may write to the account (as in the original API).
_CANDIDATE_ACCOUNT_FIELDS: Final = ("bio", "location", "linkedin_url", "github_url",
                                    "portfolio_url")


def _account_values(check: Validator, changes: Mapping[str, Any]) -> dict[str, str | None]:
    """Validated account columns of `changes`; optional ones cleared by "" become NULL."""
    values: dict[str, str | None] = {}
    for field, limit in _ACCOUNT_TEXT.items():
        if field in changes:
            required = field in _ACCOUNT_REQUIRED
            value = check.text(field, changes[field], max_length=limit, required=required,
                               multiline=field == "bio")
            values[field] = value if required else (value or None)
    for field in _ACCOUNT_URLS:
        if field in changes:
            values[field] = check.url(field, changes[field], max_length=URL_MAX) or None
    return values


def _apply_account_values(session: Session, user: User, values: Mapping[str, str | None]) -> None:
    for field, value in values.items():
        setattr(user, field, value)
    if "location" in values and user.user_type == CANDIDATE:
        # Mirrored into the candidate profile, where the candidates search has its index.
        profile = session.get(CandidateProfile, user.id)
        if profile is not None:
            profile.location = values["location"]


def update_profile(session: Session, *, actor: Principal, update_in: ProfileUpdateIn) -> User:
    """Names (cannot be cleared), phone, avatar, bio, location and links of the caller."""
    changes = inputs.given(update_in)
    user = get_user_or_raise(session, user_id=actor.user_id)
    check = Validator()
    values = _account_values(check, changes)
    check.check("Profile data is invalid")
    _apply_account_values(session, user, values)
    session.flush()
    return _fresh(session, user)


# ---- candidate profile -------------------------------------------------------------------------
#: Proto field names whose column is named differently (proto -> column).
_CANDIDATE_COLUMNS: Final = {"experience_years": "years_experience",
                             "desired_salary_min": "salary_min", "desired_salary_max": "salary_max"}
CANDIDATE_CLEARABLE: Final = ("headline", "current_title", "current_company", "experience_years",
                              "experience_level", "skills", "availability", "desired_salary_min",
                              "desired_salary_max")


def update_candidate_profile(session: Session, *, actor: Principal,
                             update_in: CandidateProfileUpdateIn) -> CandidateProfile:
    """Update (creating on first use) the caller's candidate profile; bio, location and links
    go to the account profile as in the original API. Skills are stored lower-case (the
    candidates search matches them with a GIN index)."""
    changes, clear = inputs.given(update_in), set(update_in.clear)
    user = _candidate_or_raise(session, actor)
    profile = queries.candidate_profile_for_update(session, user.id)
    check = Validator()
    _check_clear(check, changes, clear, CANDIDATE_CLEARABLE)
    account = _account_values(check, {k: v for k, v in changes.items()
                                      if k in _CANDIDATE_ACCOUNT_FIELDS})
    values: dict[str, Any] = {}  # column -> new value
    for field in ("headline", "current_title", "current_company"):
        if field in changes:
            values[field] = check.text(field, changes[field], max_length=TITLE_MAX) or None
    if "experience_years" in changes:
        values["years_experience"] = check.number(
            "experience_years", changes["experience_years"], minimum=0, maximum=EXPERIENCE_YEARS_MAX)
    if "experience_level" in changes:
        values["experience_level"] = check.choice("experience_level", changes["experience_level"],
                                                  EXPERIENCE_LEVELS)
    if changes.get("skills"):  # a non-empty list replaces; clearing goes through clear_fields
        values["skills"] = check.text_list("skills", [s.lower() for s in changes["skills"]],
                                           max_items=SKILLS_MAX, max_length=SKILL_LENGTH)
    if "availability" in changes:
        values["availability"] = check.choice("availability", changes["availability"],
                                              AVAILABILITIES)
    for field in ("desired_salary_min", "desired_salary_max"):
        if field in changes:
            values[_CANDIDATE_COLUMNS[field]] = check.number(field, changes[field], minimum=0,
                                                             maximum=SALARY_MAX)
    if "currency" in changes:
        values["currency"] = check.choice("currency", changes["currency"].strip().upper(),
                                          CURRENCIES, required=True)
    for field in ("remote_preference", "willing_to_relocate"):
        if field in changes:
            values[field] = bool(changes[field])
    for field in clear:
        values[_CANDIDATE_COLUMNS.get(field, field)] = [] if field == "skills" else None
    low = values.get("salary_min", profile.salary_min)
    high = values.get("salary_max", profile.salary_max)
    if low is not None and high is not None and low > high:
        if "salary_min" in values:
            check.fail("desired_salary_min", f"must not exceed desired_salary_max ({high})")
        else:
            check.fail("desired_salary_max", f"must not be below desired_salary_min ({low})")
    check.check("Candidate profile data is invalid")
    _apply_account_values(session, user, account)
    for column, value in values.items():
        setattr(profile, column, value)
    session.flush()
    return _fresh(session, profile)


# ---- work experience ---------------------------------------------------------------------------
EXPERIENCE_CLEARABLE: Final = ("description", "location", "end_date", "achievements",
                               "skills_used")
_LIST_FIELDS: Final = ("achievements", "skills_used")


def _achievements(check: Validator, values: Iterable[str]) -> list[str]:
    return check.text_list("achievements", values, max_items=ACHIEVEMENTS_MAX,
                           max_length=ACHIEVEMENT_LENGTH)


def _skills_used(check: Validator, values: Iterable[str]) -> list[str]:
    return check.text_list("skills_used", values, max_items=SKILLS_MAX, max_length=SKILL_LENGTH)


def create_experience(session: Session, *, actor: Principal, experience_in: ExperienceIn
                      ) -> Experience:
    """A new entry of the caller's work history; is_current drops any end_date."""
    _candidate_or_raise(session, actor)
    values = inputs.given(experience_in)
    check = Validator()
    start = _date(check.date("start_date", values.get("start_date"), required=True))
    end = _date(check.date("end_date", values.get("end_date")))
    is_current = bool(values.get("is_current"))
    if is_current:
        end = None
    else:
        _check_period(check, start, end)
    entry = Experience(
        user_id=actor.user_id,
        company=check.text("company_name", values.get("company_name"),
                           max_length=TITLE_MAX, required=True),
        title=check.text("job_title", values.get("job_title"), max_length=TITLE_MAX,
                         required=True),
        location=check.text("location", values.get("location"), max_length=TITLE_MAX) or None,
        description=check.text("description", values.get("description"),
                               max_length=TEXT_MAX, multiline=True) or None,
        start_date=start, end_date=end, is_current=is_current,
        achievements=_achievements(check, values.get("achievements", ())),
        skills_used=_skills_used(check, values.get("skills_used", ())),
    )
    check.check("Work experience data is invalid")
    session.add(entry)
    session.flush()
    return _fresh(session, entry)


def update_experience(session: Session, *, actor: Principal, experience_id: int,
                      update_in: ExperienceUpdateIn) -> Experience:
    """Change one of the caller's entries. is_current=true clears end_date; an end_date sent
    for an entry that stays current (is_current not sent) is refused, not silently dropped."""
    changes, clear = inputs.given(update_in), set(update_in.clear)
    entry: Experience = _own(session, Experience, experience_id, actor)
    check = Validator()
    _check_clear(check, changes, clear, EXPERIENCE_CLEARABLE)
    values: dict[str, Any] = {}  # column -> new value
    if "company_name" in changes:
        values["company"] = check.text("company_name", changes["company_name"],
                                       max_length=TITLE_MAX, required=True)
    if "job_title" in changes:
        values["title"] = check.text("job_title", changes["job_title"], max_length=TITLE_MAX,
                                     required=True)
    if "location" in changes:
        values["location"] = check.text("location", changes["location"],
                                         max_length=TITLE_MAX) or None
    if "description" in changes:
        values["description"] = check.text("description", changes["description"],
                                           max_length=TEXT_MAX, multiline=True) or None
    if "start_date" in changes:
        values["start_date"] = _date(check.date("start_date", changes["start_date"], required=True))
    if "end_date" in changes:
        values["end_date"] = _date(check.date("end_date", changes["end_date"]))
    if "is_current" in changes:
        values["is_current"] = bool(changes["is_current"])
    if changes.get("achievements"):
        values["achievements"] = _achievements(check, changes["achievements"])
    if changes.get("skills_used"):
        values["skills_used"] = _skills_used(check, changes["skills_used"])
    for field in clear:
        values[field] = [] if field in _LIST_FIELDS else None
    if values.get("is_current", entry.is_current):
        if values.get("end_date") is not None and "is_current" not in changes:
            check.fail("end_date", "must be empty while is_current is true; "
                                   "send is_current false to end the job")
        values["end_date"] = None
    else:
        _check_period(check, values.get("start_date", entry.start_date),
                      values.get("end_date", entry.end_date))
    check.check("Work experience data is invalid")
    for column, value in values.items():
        setattr(entry, column, value)
    session.flush()
    return _fresh(session, entry)


def delete_experience(session: Session, *, actor: Principal, experience_id: int) -> None:
    session.delete(_own(session, Experience, experience_id, actor))
    session.flush()


# ---- education -----------------------------------------------------------------------------------
EDUCATION_CLEARABLE: Final = ("degree", "field_of_study", "start_date", "end_date", "gpa",
                              "description", "achievements")


def _gpa(check: Validator, value: float | None) -> Decimal | None:
    if value is None:
        return None
    if not math.isfinite(value) or not 0 <= value <= GPA_MAX:
        check.fail("gpa", f"must be between 0 and {GPA_MAX}")
        return None
    return Decimal(str(round(value, 2)))


def create_education(session: Session, *, actor: Principal, education_in: EducationIn
                     ) -> Education:
    """A new entry of the caller's education; both dates are optional."""
    _candidate_or_raise(session, actor)
    values = inputs.given(education_in)
    check = Validator()
    start = _date(check.date("start_date", values.get("start_date")))
    end = _date(check.date("end_date", values.get("end_date")))
    _check_period(check, start, end)
    entry = Education(
        user_id=actor.user_id,
        institution=check.text("institution_name", values.get("institution_name"),
                               max_length=TITLE_MAX, required=True),
        degree=check.text("degree", values.get("degree"), max_length=TITLE_MAX) or None,
        field_of_study=check.text("field_of_study", values.get("field_of_study"),
                                  max_length=TITLE_MAX) or None,
        start_date=start, end_date=end, gpa=_gpa(check, values.get("gpa")),
        description=check.text("description", values.get("description"),
                               max_length=TEXT_MAX, multiline=True) or None,
        achievements=_achievements(check, values.get("achievements", ())),
    )
    check.check("Education data is invalid")
    session.add(entry)
    session.flush()
    return _fresh(session, entry)


def update_education(session: Session, *, actor: Principal, education_id: int,
                     update_in: EducationUpdateIn) -> Education:
    """Change one of the caller's education entries."""
    changes, clear = inputs.given(update_in), set(update_in.clear)
    entry: Education = _own(session, Education, education_id, actor)
    check = Validator()
    _check_clear(check, changes, clear, EDUCATION_CLEARABLE)
    values: dict[str, Any] = {}  # column -> new value
    if "institution_name" in changes:
        values["institution"] = check.text("institution_name", changes["institution_name"],
                                           max_length=TITLE_MAX, required=True)
    for field in ("degree", "field_of_study"):
        if field in changes:
            values[field] = check.text(field, changes[field], max_length=TITLE_MAX) or None
    if "description" in changes:
        values["description"] = check.text("description", changes["description"],
                                           max_length=TEXT_MAX, multiline=True) or None
    for field in ("start_date", "end_date"):
        if field in changes:
            values[field] = _date(check.date(field, changes[field]))
    if "gpa" in changes:
        values["gpa"] = _gpa(check, changes["gpa"])
    if changes.get("achievements"):
        values["achievements"] = _achievements(check, changes["achievements"])
    for field in clear:
        values[field] = [] if field == "achievements" else None
    _check_period(check, values.get("start_date", entry.start_date),
                  values.get("end_date", entry.end_date))
    check.check("Education data is invalid")
    for column, value in values.items():
        setattr(entry, column, value)
    session.flush()
    return _fresh(session, entry)


def delete_education(session: Session, *, actor: Principal, education_id: int) -> None:
    session.delete(_own(session, Education, education_id, actor))
    session.flush()


# ---- search and public profiles ------------------------------------------------------------------
def search_users(session: Session, *, actor: Principal, q: str, user_type: str,
                 limit: int | None, offset: int) -> tuple[list[User], int]:
    """Active users whose name contains `q` (literally: % and _ are no wildcards; never the
    e-mail), optionally of one role (`freelance_recruiter` is read as recruiter).

    Every signed-in user may search; which e-mails the answer shows is decided by
    `convert.user_summary` (the user's own and, for admins, everyone's).
    """
    del actor  # kept in the signature: the viewer decides what convert shows
    check = Validator()
    term = check.text("q", q, max_length=SEARCH_TERM_MAX, required=True)
    role = check.choice("type", user_type.strip().lower() or None, USER_TYPES,
                        aliases=ROLE_ALIASES)
    size = pagination.limit(check, limit)
    pagination.offset(check, offset)
    check.check("Search parameters are invalid")
    return queries.search_users(session, term=term or "", user_type=role, limit=size, offset=offset)


def get_public_profile(session: Session, *, user_id: int) -> Profile:
    """The public view of an active user: candidate profile, work history and education only
    when the candidate profile is public. Which fields show is decided by `convert.public_user`."""
    user = get_user_or_raise(session, user_id=user_id)
    if user.user_type != CANDIDATE:
        return Profile(user, None, [], [])
    profile = session.get(CandidateProfile, user.id)
    if profile is None or not profile.is_public:
        return Profile(user, None, [], [])
    return Profile(user, profile, queries.experiences_of(session, user.id),
                   queries.educations_of(session, user.id))


# ---- candidate search: the users module's API to the candidates module -----------------------
CandidateFilter = queries.CandidateFilter


@dataclasses.dataclass(frozen=True)
class CandidateHit:
    user: User
    profile: CandidateProfile
    experience_count: int


def search_candidates(session: Session, *, filters: CandidateFilter, limit: int, offset: int
                      ) -> tuple[list[CandidateHit], int]:
    """Active candidates with a public profile matching `filters`: one page and the total."""
    rows, total = queries.search_candidates(session, filters, limit=limit, offset=offset)
    return [CandidateHit(user, profile, count) for user, profile, count in rows], total


def public_candidates(session: Session, *, skills: Sequence[str], limit: int
                      ) -> list[tuple[User, CandidateProfile]]:
    """At most `limit` active candidates with a public profile sharing one of `skills` (any
    candidate when empty), most recently updated first: the pool the ai module ranks."""
    return queries.public_candidates(session, queries.CandidateFilter(skills=tuple(skills)),
                                     limit=limit)


def candidate_stats(session: Session) -> tuple[int, dict[str, int], dict[str, int]]:
    """Searchable candidates: in total, by experience level, by availability."""
    return queries.candidate_counts(session)


def create_candidate_profile(session: Session, *, user_id: int) -> CandidateProfile:
    """The empty candidate profile of a new candidate account (the auth module's sign-up)."""
    profile = CandidateProfile(user_id=user_id)
    session.add(profile)
    return profile


def candidate_profile_of(session: Session, *, user_id: int) -> CandidateProfile | None:
    """A user's candidate profile, public or not (None: they have none)."""
    return session.get(CandidateProfile, user_id)


def find_user(session: Session, *, user_id: int | None = None, email: str | None = None
              ) -> User | None:
    """The account with this id or (normalised) e-mail address, active or not, or None."""
    if user_id is not None:
        return session.get(User, user_id)
    return queries.user_by_email(session, email) if email is not None else None


def user_exists(session: Session, *, user_id: int) -> bool:
    return session.get(User, user_id) is not None


def summary_table() -> TableClause:
    """Accounts' summary as a selectable to join (built once, in queries.py): `id`,
    `first_name`, `last_name`, `user_type`, `profile_image_url`, `email` (the joining module
    decides who may see the e-mail). For hot reads that must stay one statement
    (applications' lists)."""
    return queries.SUMMARY


def contacts_by_id(reader: Reader, *, user_ids: Iterable[int]) -> dict[int, Any]:
    """The accounts of `user_ids` that exist, by id, as rows (no entities): `id`, `email`,
    `first_name`, `last_name`, `user_type`, `profile_image_url`, `is_active`. For writes
    that address people (notifications, mail) and answers that show them."""
    return queries.contacts_by_id(reader, user_ids)


def users_by_id(session: Session, *, user_ids: Iterable[int]) -> dict[int, User]:
    """The accounts of `user_ids` that exist, by id (to address mail, check they are active)."""
    return queries.users_by_id(session, user_ids)
