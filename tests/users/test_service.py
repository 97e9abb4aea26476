"""The users service on a real, freshly migrated PostgreSQL database.

Every test runs in one transaction that is rolled back at the end, so each test sees only the
users it creates (the search tests rely on that to assert exact results).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.context import Principal
from hotgigs.errors import InvalidArgument, NotFound, PermissionDenied
from hotgigs.models import CandidateProfile, Education, Experience, User
from hotgigs.users import convert, service
from tests.factories import make_user

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def as_actor(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.user_type, session_id="s", token_id="t")


def violated(error: pytest.ExceptionInfo[InvalidArgument]) -> set[str]:
    return {violation.field for violation in error.value.violations}


@pytest.fixture
def candidate(session: Session) -> User:
    return make_user(session, "candidate", first_name="Ada", last_name="Lovelace")


@pytest.fixture
def other_candidate(session: Session) -> User:
    return make_user(session, "candidate", first_name="Grace", last_name="Hopper")


@pytest.fixture
def company_user(session: Session) -> User:
    return make_user(session, "company", first_name="Acme", last_name="Hiring")


def add_job(session: Session, owner: User, **fields: Any) -> Experience:
    values: dict[str, Any] = {"company_name": "Initech", "job_title": "Engineer",
                              "start_date": "2019-03-01", "end_date": "2022-06-30"}
    values.update(fields)
    return service.create_experience(session, actor=as_actor(owner),
                                  experience_in=service.ExperienceIn(**values))


def add_school(session: Session, owner: User, **fields: Any) -> Education:
    values: dict[str, Any] = {"institution_name": "MIT", "degree": "BSc",
                              "start_date": "2010-09-01", "end_date": "2014-06-30"}
    values.update(fields)
    return service.create_education(session, actor=as_actor(owner),
                                 education_in=service.EducationIn(**values))


# ---- GetProfile ----------------------------------------------------------------------------------
class TestGetProfile:
    def test_candidate_gets_account_profile_and_history(self, session: Session,
                                                        candidate: User) -> None:
        """A candidate's profile holds the candidate profile, experience (current first, then
        most recent) and education (most recent first)."""
        old = add_job(session, candidate, start_date="2010-01-01", end_date="2012-01-01")
        recent = add_job(session, candidate, start_date="2015-01-01", end_date="2018-01-01")
        current = add_job(session, candidate, start_date="2012-06-01", end_date="",
                          is_current=True)
        bsc = add_school(session, candidate, start_date="2005-09-01", end_date="2009-06-30")
        msc = add_school(session, candidate, start_date="2009-09-01", end_date="2011-06-30")
        undated = add_school(session, candidate, start_date="", end_date="")

        profile = service.get_profile(session, actor=as_actor(candidate))

        assert profile.user.id == candidate.id
        assert profile.candidate_profile is not None
        assert profile.candidate_profile.user_id == candidate.id
        assert [e.id for e in profile.experiences] == [current.id, recent.id, old.id]
        assert [e.id for e in profile.educations] == [msc.id, bsc.id, undated.id]
        message = convert.profile_response(profile)
        assert message.user.email == candidate.email, "the owner sees their own e-mail"
        assert message.HasField("candidate_profile")

    def test_other_roles_have_no_candidate_part(self, session: Session,
                                                company_user: User) -> None:
        profile = service.get_profile(session, actor=as_actor(company_user))
        assert profile.candidate_profile is None
        assert profile.experiences == [] and profile.educations == []
        assert not convert.profile_response(profile).HasField("candidate_profile")

    def test_candidate_without_profile_row(self, session: Session) -> None:
        user = make_user(session, with_profile=False)
        profile = service.get_profile(session, actor=as_actor(user))
        assert profile.candidate_profile is None

    def test_deactivated_caller_is_not_found(self, session: Session) -> None:
        user = make_user(session, is_active=False)
        with pytest.raises(NotFound):
            service.get_profile(session, actor=as_actor(user))


# ---- UpdateProfile -------------------------------------------------------------------------------
class TestUpdateProfile:
    def test_updates_only_the_fields_sent(self, session: Session, candidate: User) -> None:
        user = service.update_profile(session, actor=as_actor(candidate),
                                      update_in=service.ProfileUpdateIn(
                                          bio="Builds reliable systems", location="Berlin",
                                          linkedin_url="https://linkedin.com/in/ada"))
        assert (user.bio, user.location) == ("Builds reliable systems", "Berlin")
        assert user.linkedin_url == "https://linkedin.com/in/ada"
        assert (user.first_name, user.last_name) == ("Ada", "Lovelace"), "absent: unchanged"

        service.update_profile(session, actor=as_actor(candidate),
                               update_in=service.ProfileUpdateIn(
                                   first_name="  Augusta  ", phone="+44 20 7946 0000"))
        assert user.first_name == "Augusta"
        assert user.phone == "+44 20 7946 0000"
        assert user.bio == "Builds reliable systems"

    def test_empty_string_clears_optional_fields(self, session: Session, candidate: User) -> None:
        service.update_profile(session, actor=as_actor(candidate),
                               update_in=service.ProfileUpdateIn(
                                   bio="x", github_url="https://github.com/ada", location="Berlin"))
        user = service.update_profile(session, actor=as_actor(candidate),
                                      update_in=service.ProfileUpdateIn(
                                          bio="", github_url="", location="   "))
        assert (user.bio, user.github_url, user.location) == (None, None, None)

    def test_markup_is_stripped(self, session: Session, candidate: User) -> None:
        """Stored XSS: tags, script content and event handlers never come back."""
        user = service.update_profile(session, actor=as_actor(candidate),
                                      update_in=service.ProfileUpdateIn(
                                          bio=f"Builds <b>reliable</b> systems{XSS}",
                                          location="<i>Berlin</i>",
                                          first_name="Ada<script>document.cookie</script>"))
        assert user.bio == "Builds reliable systems"
        assert user.location == "Berlin"
        assert user.first_name == "Ada"
        assert "<" not in convert.user_to_proto(user).SerializeToString().decode("latin-1")

    def test_bad_fields_are_all_named_and_nothing_is_written(self, session: Session,
                                                              candidate: User) -> None:
        with pytest.raises(InvalidArgument) as error:
            service.update_profile(session, actor=as_actor(candidate),
                                   update_in=service.ProfileUpdateIn(
                                       first_name="", last_name=XSS, bio="x" * 2001, location="y" * 201,
                                       phone="1" * 33, github_url="javascript:alert(1)",
                                       portfolio_url="https://" + "a" * 500,
                                       linkedin_url="ftp://example.com", profile_image_url="not a url"))
        assert violated(error) == {"first_name", "last_name", "bio", "location", "phone",
                                   "github_url", "portfolio_url", "linkedin_url",
                                   "profile_image_url"}
        assert (candidate.first_name, candidate.bio) == ("Ada", None)

    def test_valid_fields_are_not_written_when_another_is_bad(self, session: Session,
                                                              candidate: User) -> None:
        with pytest.raises(InvalidArgument):
            service.update_profile(session, actor=as_actor(candidate),
                                   update_in=service.ProfileUpdateIn(
                                       bio="fine", github_url="javascript:alert(1)"))
        assert candidate.bio is None

    def test_control_characters_are_refused(self, session: Session, candidate: User) -> None:
        with pytest.raises(InvalidArgument) as error:
            service.update_profile(session, actor=as_actor(candidate),
                                   update_in=service.ProfileUpdateIn(
                                       first_name="Ada\x00", last_name="Love\u202elace"))
        assert violated(error) == {"first_name", "last_name"}

    def test_bio_may_have_line_breaks(self, session: Session, candidate: User) -> None:
        user = service.update_profile(session, actor=as_actor(candidate),
                                      update_in=service.ProfileUpdateIn(bio="line one\nline two"))
        assert user.bio == "line one\nline two"

    def test_location_is_mirrored_into_the_candidate_profile(self, session: Session,
                                                             candidate: User) -> None:
        """The candidates search filters on candidate_profiles.location."""
        service.update_profile(session, actor=as_actor(candidate),
                               update_in=service.ProfileUpdateIn(location="Lisbon"))
        profile = session.get(CandidateProfile, candidate.id)
        assert profile is not None and profile.location == "Lisbon"

    def test_works_for_every_role(self, session: Session, company_user: User) -> None:
        user = service.update_profile(session, actor=as_actor(company_user),
                                      update_in=service.ProfileUpdateIn(location="Paris"))
        assert user.location == "Paris"


# ---- UpdateCandidateProfile ----------------------------------------------------------------------
class TestUpdateCandidateProfile:
    def test_sets_fields_and_maps_proto_names_to_columns(self, session: Session,
                                                         candidate: User) -> None:
        profile = service.update_candidate_profile(session, actor=as_actor(candidate),
                                                   update_in=service.CandidateProfileUpdateIn(
                                                       headline="Python engineer",
                                                       current_title="Staff Engineer",
                                                       current_company="Initech", experience_years=7,
                                                       experience_level="senior",
                                                       skills=["Python", "python ", " PostgreSQL"],
                                                       availability="2_weeks", desired_salary_min=90_000,
                                                       desired_salary_max=120_000, currency="eur",
                                                       remote_preference=True, willing_to_relocate=True))
        assert profile.headline == "Python engineer"
        assert (profile.current_title, profile.current_company) == ("Staff Engineer", "Initech")
        assert (profile.years_experience, profile.salary_min, profile.salary_max) == (
            7, 90_000, 120_000)
        assert profile.skills == ["python", "postgresql"], "lower-cased, de-duplicated"
        assert (profile.experience_level, profile.availability) == ("senior", "2_weeks")
        assert profile.currency == "EUR"
        assert profile.remote_preference and profile.willing_to_relocate
        message = convert.candidate_profile(profile)
        assert (message.experience_years, message.desired_salary_min,
                message.desired_salary_max) == (7, 90_000, 120_000)

    def test_creates_the_profile_row_when_missing(self, session: Session) -> None:
        user = make_user(session, with_profile=False)
        profile = service.update_candidate_profile(session, actor=as_actor(user),
                                                   update_in=service.CandidateProfileUpdateIn(
                                                       headline="New here"))
        assert profile.user_id == user.id
        assert profile.headline == "New here"
        assert profile.currency == "USD", "column default"
        count = session.scalar(sa.select(sa.func.count()).select_from(CandidateProfile)
                               .where(CandidateProfile.user_id == user.id))
        assert count == 1

    def test_only_candidates(self, session: Session, company_user: User) -> None:
        with pytest.raises(PermissionDenied):
            service.update_candidate_profile(session, actor=as_actor(company_user),
                                             update_in=service.CandidateProfileUpdateIn(headline="x"))
        assert session.get(CandidateProfile, company_user.id) is None

    def test_absent_fields_stay(self, session: Session, candidate: User) -> None:
        actor = as_actor(candidate)
        service.update_candidate_profile(session, actor=actor,
                                         update_in=service.CandidateProfileUpdateIn(
                                             headline="Data engineer", skills=["sql"],
                                             desired_salary_min=50_000))
        profile = service.update_candidate_profile(session, actor=actor,
                                                   update_in=service.CandidateProfileUpdateIn(
                                                       availability="immediate"))
        assert (profile.headline, profile.skills, profile.salary_min) == (
            "Data engineer", ["sql"], 50_000)

    def test_empty_skill_list_keeps_skills(self, session: Session, candidate: User) -> None:
        """Per the proto, a non-empty list replaces; an empty one changes nothing."""
        actor = as_actor(candidate)
        service.update_candidate_profile(session, actor=actor,
                                         update_in=service.CandidateProfileUpdateIn(skills=["go"]))
        profile = service.update_candidate_profile(session, actor=actor,
                                                   update_in=service.CandidateProfileUpdateIn(skills=[]))
        assert profile.skills == ["go"]

    def test_clear_fields(self, session: Session, candidate: User) -> None:
        actor = as_actor(candidate)
        service.update_candidate_profile(session, actor=actor,
                                         update_in=service.CandidateProfileUpdateIn(
                                             headline="x", experience_years=3, experience_level="mid",
                                             skills=["go"], availability="1_month", desired_salary_min=1,
                                             desired_salary_max=2, current_title="t", current_company="c"))
        profile = service.update_candidate_profile(
            session, actor=actor,
            update_in=service.CandidateProfileUpdateIn(
                clear=list(service.CANDIDATE_CLEARABLE)))
        assert profile.skills == []
        assert [profile.headline, profile.years_experience, profile.experience_level,
                profile.availability, profile.salary_min, profile.salary_max,
                profile.current_title, profile.current_company] == [None] * 8
        message = convert.candidate_profile(profile)
        for field in ("experience_years", "desired_salary_min", "desired_salary_max"):
            assert not message.HasField(field), f"{field} is absent once cleared"

    def test_clear_fields_refuses_unknown_required_and_contradictory_names(
            self, session: Session, candidate: User) -> None:
        for update_in in (service.CandidateProfileUpdateIn(clear=["email"]),
                          service.CandidateProfileUpdateIn(clear=["currency"]),
                          service.CandidateProfileUpdateIn(headline="kept?", clear=["headline"])):
            with pytest.raises(InvalidArgument) as error:
                service.update_candidate_profile(session, actor=as_actor(candidate),
                                                 update_in=update_in)
            assert violated(error) == {"clear_fields"}, update_in.clear

    def test_salary_min_above_max_is_refused(self, session: Session, candidate: User) -> None:
        """A desired_salary_min above desired_salary_max is refused with a field violation."""
        with pytest.raises(InvalidArgument) as error:
            service.update_candidate_profile(session, actor=as_actor(candidate),
                                             update_in=service.CandidateProfileUpdateIn(
                                                 desired_salary_min=200, desired_salary_max=100))
        assert violated(error) == {"desired_salary_min"}

    def test_salary_range_is_checked_against_the_stored_value(self, session: Session,
                                                              candidate: User) -> None:
        actor = as_actor(candidate)
        service.update_candidate_profile(session, actor=actor,
                                         update_in=service.CandidateProfileUpdateIn(
                                             desired_salary_min=100, desired_salary_max=200))
        with pytest.raises(InvalidArgument) as error:
            service.update_candidate_profile(session, actor=actor,
                                             update_in=service.CandidateProfileUpdateIn(
                                                 desired_salary_max=50))
        assert violated(error) == {"desired_salary_max"}
        with pytest.raises(InvalidArgument) as error:
            service.update_candidate_profile(session, actor=actor,
                                             update_in=service.CandidateProfileUpdateIn(
                                                 desired_salary_min=300))
        assert violated(error) == {"desired_salary_min"}
        profile = service.update_candidate_profile(
            session, actor=actor,
            update_in=service.CandidateProfileUpdateIn(
                desired_salary_min=300,
                clear=["desired_salary_max"]))
        assert (profile.salary_min, profile.salary_max) == (300, None)

    def test_bad_values_are_all_named(self, session: Session, candidate: User) -> None:
        with pytest.raises(InvalidArgument) as error:
            service.update_candidate_profile(session, actor=as_actor(candidate),
                                             update_in=service.CandidateProfileUpdateIn(
                                                 experience_level="guru", availability="someday",
                                                 currency="BTC", experience_years=-1, desired_salary_min=-5,
                                                 desired_salary_max=1_000_000_000, headline="h" * 201,
                                                 current_title="t" * 201, current_company="c" * 201,
                                                 bio="b" * 2001, linkedin_url="javascript:alert(1)"))
        assert violated(error) == {
            "experience_level", "availability", "currency", "experience_years",
            "desired_salary_min", "desired_salary_max", "headline", "current_title",
            "current_company", "bio", "linkedin_url"}

    def test_skill_limits(self, session: Session, candidate: User) -> None:
        with pytest.raises(InvalidArgument) as error:
            service.update_candidate_profile(session, actor=as_actor(candidate),
                                             update_in=service.CandidateProfileUpdateIn(
                                                 skills=[f"skill{i}" for i in range(51)]))
        assert violated(error) == {"skills"}
        with pytest.raises(InvalidArgument) as error:
            service.update_candidate_profile(session, actor=as_actor(candidate),
                                             update_in=service.CandidateProfileUpdateIn(
                                                 skills=["python", "x" * 51]))
        assert violated(error) == {"skills[1]"}
        profile = service.update_candidate_profile(session, actor=as_actor(candidate),
                                                   update_in=service.CandidateProfileUpdateIn(
                                                       skills=[f"skill{i}" for i in range(50)]))
        assert len(profile.skills) == 50

    def test_account_fields_go_to_the_user_and_are_sanitised(self, session: Session,
                                                             candidate: User) -> None:
        profile = service.update_candidate_profile(session, actor=as_actor(candidate),
                                                   update_in=service.CandidateProfileUpdateIn(
                                                       bio=f"Hello{XSS}", location="Porto",
                                                       github_url="https://github.com/ada",
                                                       headline=f"<b>Engineer</b>{XSS}"))
        assert candidate.bio == "Hello"
        assert candidate.location == "Porto" and profile.location == "Porto"
        assert candidate.github_url == "https://github.com/ada"
        assert profile.headline == "Engineer"

    def test_names_cannot_be_changed_through_it(self) -> None:
        """The input type has no name or phone fields (the servicer's request neither)."""
        fields = {field.name for field in dataclasses.fields(service.CandidateProfileUpdateIn)}
        assert not fields & {"first_name", "last_name", "phone", "email"}

    def test_account_and_profile_violations_come_together(self, session: Session,
                                                          candidate: User) -> None:
        """Nothing is written when any field is bad, the account part included."""
        with pytest.raises(InvalidArgument) as error:
            service.update_candidate_profile(session, actor=as_actor(candidate),
                                             update_in=service.CandidateProfileUpdateIn(
                                                 bio="fine bio", portfolio_url="nope",
                                                 experience_level="guru", headline="fine"))
        assert violated(error) == {"portfolio_url", "experience_level"}
        assert candidate.bio is None
        profile = session.get(CandidateProfile, candidate.id)
        assert profile is not None and profile.headline is None


# ---- experience ----------------------------------------------------------------------------------
class TestAddExperience:
    def test_adds_a_sanitised_entry(self, session: Session, candidate: User) -> None:
        entry = add_job(session, candidate, description=f"Built things{XSS}\nwith care",
                        location="Remote", achievements=["Shipped v2", XSS, "Shipped v2"],
                        skills_used=["python", "<b>sql</b>"], company_name="<i>Initech</i>")
        assert entry.id is not None and entry.user_id == candidate.id
        assert entry.company == "Initech"
        assert entry.description == "Built things\nwith care"
        assert entry.achievements == ["Shipped v2"], "markup-only items dropped, duplicates too"
        assert entry.skills_used == ["python", "sql"]
        message = convert.experience(entry)
        assert (message.company_name, message.job_title) == ("Initech", "Engineer")
        assert (message.start_date, message.end_date) == ("2019-03-01", "2022-06-30")

    def test_is_current_clears_end_date(self, session: Session, candidate: User) -> None:
        entry = add_job(session, candidate, is_current=True, end_date="2020-01-01")
        assert entry.is_current and entry.end_date is None
        assert convert.experience(entry).end_date == ""

    def test_open_ended_past_job_is_allowed(self, session: Session, candidate: User) -> None:
        entry = add_job(session, candidate, end_date="")
        assert entry.end_date is None and not entry.is_current

    def test_required_fields_and_dates(self, session: Session, candidate: User) -> None:
        with pytest.raises(InvalidArgument) as error:
            service.create_experience(session, actor=as_actor(candidate),
                                   experience_in=service.ExperienceIn(
                                       company_name="  ", job_title=XSS, start_date="2022-02-30",
                                       end_date="yesterday", location="l" * 201, description="d" * 5001))
        assert violated(error) == {"company_name", "job_title", "start_date", "end_date",
                                   "location", "description"}
        with pytest.raises(InvalidArgument) as error:
            service.create_experience(session, actor=as_actor(candidate),
                                      experience_in=service.ExperienceIn())
        assert violated(error) == {"company_name", "job_title", "start_date"}

    def test_end_before_start_is_refused(self, session: Session, candidate: User) -> None:
        with pytest.raises(InvalidArgument) as error:
            add_job(session, candidate, start_date="2022-01-01", end_date="2020-01-01")
        assert violated(error) == {"end_date"}
        same_day = add_job(session, candidate, start_date="2022-01-01", end_date="2022-01-01")
        assert same_day.end_date == same_day.start_date

    def test_list_limits(self, session: Session, candidate: User) -> None:
        with pytest.raises(InvalidArgument) as error:
            add_job(session, candidate, achievements=[f"a{i}" for i in range(21)],
                    skills_used=[f"s{i}" for i in range(51)])
        assert violated(error) == {"achievements", "skills_used"}
        with pytest.raises(InvalidArgument) as error:
            add_job(session, candidate, achievements=["a" * 301], skills_used=["s" * 51])
        assert violated(error) == {"achievements[0]", "skills_used[0]"}
        entry = add_job(session, candidate, achievements=["a" * 300] * 1 + [f"a{i}" for i in range(19)])
        assert len(entry.achievements) == 20

    def test_only_candidates(self, session: Session, company_user: User) -> None:
        with pytest.raises(PermissionDenied):
            add_job(session, company_user)


class TestUpdateExperience:
    def test_changes_only_the_fields_sent(self, session: Session, candidate: User) -> None:
        entry = add_job(session, candidate, achievements=["a"], skills_used=["go"])
        updated = service.update_experience(session, actor=as_actor(candidate),
                                            experience_id=entry.id,
                                            update_in=service.ExperienceUpdateIn(
                                                job_title="Staff <b>Engineer</b>"))
        assert updated.title == "Staff Engineer"
        assert (updated.company, updated.achievements, updated.skills_used) == (
            "Initech", ["a"], ["go"])

    def test_is_current_clears_end_date(self, session: Session, candidate: User) -> None:
        entry = add_job(session, candidate)
        updated = service.update_experience(session, actor=as_actor(candidate),
                                            experience_id=entry.id,
                                            update_in=service.ExperienceUpdateIn(is_current=True))
        assert updated.is_current and updated.end_date is None

    def test_end_date_for_an_entry_that_stays_current_is_refused(self, session: Session,
                                                                  candidate: User) -> None:
        entry = add_job(session, candidate, is_current=True)
        with pytest.raises(InvalidArgument) as error:
            service.update_experience(session, actor=as_actor(candidate), experience_id=entry.id,
                                      update_in=service.ExperienceUpdateIn(end_date="2024-01-31"))
        assert violated(error) == {"end_date"}
        ended = service.update_experience(session, actor=as_actor(candidate),
                                          experience_id=entry.id,
                                          update_in=service.ExperienceUpdateIn(
                                              end_date="2024-01-31", is_current=False))
        assert (ended.is_current, ended.end_date and ended.end_date.isoformat()) == (
            False, "2024-01-31")

    def test_dates_are_checked_against_stored_values(self, session: Session,
                                                     candidate: User) -> None:
        entry = add_job(session, candidate, start_date="2019-03-01", end_date="2022-06-30")
        with pytest.raises(InvalidArgument) as error:
            service.update_experience(session, actor=as_actor(candidate), experience_id=entry.id,
                                      update_in=service.ExperienceUpdateIn(start_date="2023-01-01"))
        assert violated(error) == {"end_date"}
        assert entry.start_date.isoformat() == "2019-03-01", "nothing written"
        with pytest.raises(InvalidArgument) as error:
            service.update_experience(session, actor=as_actor(candidate), experience_id=entry.id,
                                      update_in=service.ExperienceUpdateIn(start_date="", company_name=""))
        assert violated(error) == {"start_date", "company_name"}

    def test_clear_fields(self, session: Session, candidate: User) -> None:
        entry = add_job(session, candidate, description="d", location="l", achievements=["a"],
                        skills_used=["s"])
        updated = service.update_experience(
            session, actor=as_actor(candidate), experience_id=entry.id,
            update_in=service.ExperienceUpdateIn(
                clear=["description", "location", "end_date", "achievements", "skills_used"]))
        assert (updated.description, updated.location, updated.end_date) == (None, None, None)
        assert (updated.achievements, updated.skills_used) == ([], [])
        with pytest.raises(InvalidArgument) as error:
            service.update_experience(session, actor=as_actor(candidate), experience_id=entry.id,
                                      update_in=service.ExperienceUpdateIn(
                                          clear=["company_name", "start_date"]))
        assert violated(error) == {"clear_fields"}
        assert len(error.value.violations) == 2

    def test_someone_elses_entry_is_not_found(self, session: Session, candidate: User,
                                              other_candidate: User) -> None:
        """Not 403: the answer must not tell whether the id exists."""
        theirs = add_job(session, other_candidate, job_title="Theirs")
        with pytest.raises(NotFound) as foreign:
            service.update_experience(session, actor=as_actor(candidate), experience_id=theirs.id,
                                      update_in=service.ExperienceUpdateIn(job_title="Mine now"))
        with pytest.raises(NotFound) as missing:
            service.update_experience(session, actor=as_actor(candidate),
                                      experience_id=theirs.id + 10_000,
                                      update_in=service.ExperienceUpdateIn())
        assert foreign.value.reason == missing.value.reason
        assert theirs.title == "Theirs"


class TestDeleteExperience:
    def test_deletes_own_entry_once(self, session: Session, candidate: User) -> None:
        entry = add_job(session, candidate)
        entry_id = entry.id
        service.delete_experience(session, actor=as_actor(candidate), experience_id=entry_id)
        assert session.get(Experience, entry_id) is None
        with pytest.raises(NotFound):
            service.delete_experience(session, actor=as_actor(candidate), experience_id=entry_id)

    def test_someone_elses_entry_is_not_found_and_kept(self, session: Session, candidate: User,
                                                       other_candidate: User) -> None:
        theirs = add_job(session, other_candidate)
        with pytest.raises(NotFound):
            service.delete_experience(session, actor=as_actor(candidate), experience_id=theirs.id)
        session.expire_all()
        assert session.get(Experience, theirs.id) is not None


# ---- education -----------------------------------------------------------------------------------
class TestAddEducation:
    def test_adds_an_entry_with_gpa(self, session: Session, candidate: User) -> None:
        entry = add_school(session, candidate, gpa=3.756, field_of_study="CS<script>x</script>",
                           achievements=["Dean's list"], description=XSS)
        assert entry.gpa == Decimal("3.76")
        assert entry.field_of_study == "CS"
        assert entry.description is None, "markup only: nothing left"
        assert entry.achievements == ["Dean's list"]
        message = convert.education(entry)
        assert message.institution_name == "MIT"
        assert message.gpa == pytest.approx(3.76)

    def test_dates_and_gpa_are_optional(self, session: Session, candidate: User) -> None:
        entry = service.create_education(session, actor=as_actor(candidate),
                                      education_in=service.EducationIn(institution_name="Open University"))
        assert (entry.start_date, entry.end_date, entry.gpa) == (None, None, None)
        assert not convert.education(entry).HasField("gpa")

    def test_bad_input_is_named(self, session: Session, candidate: User) -> None:
        with pytest.raises(InvalidArgument) as error:
            service.create_education(session, actor=as_actor(candidate),
                                  education_in=service.EducationIn(
                                      institution_name="", degree="d" * 201, start_date="2014-09-01",
                                      end_date="2010-06-30", gpa=10.5, achievements=["a" * 301]))
        assert violated(error) == {"institution_name", "degree", "end_date", "gpa",
                                   "achievements[0]"}
        for gpa in (-0.1, float("nan"), float("inf")):
            with pytest.raises(InvalidArgument) as error:
                add_school(session, candidate, gpa=gpa)
            assert violated(error) == {"gpa"}

    def test_only_candidates(self, session: Session, company_user: User) -> None:
        with pytest.raises(PermissionDenied):
            add_school(session, company_user)


class TestUpdateAndDeleteEducation:
    def test_update_and_clear(self, session: Session, candidate: User) -> None:
        entry = add_school(session, candidate, gpa=3.5)
        updated = service.update_education(session, actor=as_actor(candidate),
                                           education_id=entry.id,
                                           update_in=service.EducationUpdateIn(degree="MSc", gpa=3.9))
        assert (updated.degree, updated.gpa, updated.institution) == ("MSc", Decimal("3.9"), "MIT")
        cleared = service.update_education(session, actor=as_actor(candidate),
                                           education_id=entry.id,
                                           update_in=service.EducationUpdateIn(
                                               clear=["gpa", "end_date", "degree"]))
        assert (cleared.gpa, cleared.end_date, cleared.degree) == (None, None, None)

    def test_dates_are_checked_against_stored_values(self, session: Session,
                                                     candidate: User) -> None:
        entry = add_school(session, candidate)
        with pytest.raises(InvalidArgument) as error:
            service.update_education(session, actor=as_actor(candidate), education_id=entry.id,
                                     update_in=service.EducationUpdateIn(end_date="2009-01-01"))
        assert violated(error) == {"end_date"}

    def test_institution_cannot_be_cleared(self, session: Session, candidate: User) -> None:
        entry = add_school(session, candidate)
        with pytest.raises(InvalidArgument) as error:
            service.update_education(session, actor=as_actor(candidate), education_id=entry.id,
                                     update_in=service.EducationUpdateIn(
                                         institution_name="<b></b>", clear=["institution_name"]))
        assert violated(error) == {"institution_name", "clear_fields"}
        assert entry.institution == "MIT"

    def test_someone_elses_entry_is_not_found(self, session: Session, candidate: User,
                                              other_candidate: User) -> None:
        theirs = add_school(session, other_candidate)
        with pytest.raises(NotFound):
            service.update_education(session, actor=as_actor(candidate), education_id=theirs.id,
                                     update_in=service.EducationUpdateIn(degree="PhD"))
        with pytest.raises(NotFound):
            service.delete_education(session, actor=as_actor(candidate), education_id=theirs.id)
        session.expire_all()
        kept = session.get(Education, theirs.id)
        assert kept is not None and kept.degree == "BSc"

    def test_delete_own(self, session: Session, candidate: User) -> None:
        entry = add_school(session, candidate)
        entry_id = entry.id
        service.delete_education(session, actor=as_actor(candidate), education_id=entry_id)
        assert session.get(Education, entry_id) is None
        with pytest.raises(NotFound):
            service.delete_education(session, actor=as_actor(candidate), education_id=entry_id)


# ---- SearchUsers ---------------------------------------------------------------------------------
def search(session: Session, viewer: User, q: str, *, user_type: str = "",
           limit: int | None = None, offset: int = 0) -> tuple[list[User], int]:
    return service.search_users(session, actor=as_actor(viewer), q=q, user_type=user_type,
                                limit=limit, offset=offset)


def names(users: list[User]) -> list[str]:
    return [f"{u.first_name} {u.last_name}" for u in users]


class TestSearchUsers:
    def test_matches_names_anywhere_never_the_email(self, session: Session) -> None:
        viewer = make_user(session, "company", first_name="View", last_name="Er",
                           email="viewer@corp.test")
        ada = make_user(session, first_name="Ada", last_name="Lovelace",
                        email="countess@analytical.test")
        make_user(session, first_name="Alan", last_name="Turing", email="alan@bletchley.test")

        assert search(session, viewer, "LOVE")[0] == [ada], "case-insensitive, inside the name"
        assert search(session, viewer, "ada love")[0] == [ada], "first and last name together"
        assert search(session, viewer, "countess@ana")[0] == [], "no e-mail prefix (issue 12)"
        assert search(session, viewer, "countess")[0] == [], "not even the local part"
        assert search(session, viewer, "analytical.test")[0] == [], "not inside the e-mail"
        assert search(session, viewer, "@bletchley")[0] == [], "no listing of a domain"

    def test_type_filter_with_the_old_recruiter_name(self, session: Session) -> None:
        viewer = make_user(session, "company")
        recruiter = make_user(session, "recruiter", last_name="Smithson")
        make_user(session, "candidate", last_name="Smithson")
        assert search(session, viewer, "smithson", user_type="recruiter")[0] == [recruiter]
        assert search(session, viewer, "smithson", user_type="freelance_recruiter")[0] == [
            recruiter]
        assert search(session, viewer, "smithson", user_type=" Recruiter ")[0] == [recruiter]
        assert search(session, viewer, "smithson")[1] == 2

    def test_inactive_users_are_not_found(self, session: Session) -> None:
        viewer = make_user(session, "company")
        make_user(session, last_name="Gone", is_active=False)
        assert search(session, viewer, "gone") == ([], 0)

    def test_default_limit_paging_and_true_total(self, session: Session) -> None:
        viewer = make_user(session, "company")
        for i in range(25):
            make_user(session, first_name=f"P{i:02}", last_name="Pagewright")
        first, total = search(session, viewer, "pagewright")
        assert (len(first), total) == (20, 25)
        rest, total = search(session, viewer, "pagewright", offset=20)
        assert (len(rest), total) == (5, 25)
        assert not {u.id for u in first} & {u.id for u in rest}
        page, total = search(session, viewer, "pagewright", limit=100)
        assert (len(page), total) == (25, 25)

    @pytest.mark.parametrize(("q", "limit", "offset", "user_type", "fields"), [
        ("", None, 0, "", {"q"}),
        ("   ", None, 0, "", {"q"}),
        (XSS, None, 0, "", {"q"}),
        ("x" * 101, None, 0, "", {"q"}),
        ("ada", 0, 0, "", {"limit"}),
        ("ada", 101, 0, "", {"limit"}),
        ("ada", None, -1, "", {"offset"}),
        ("ada", None, 0, "pirate", {"type"}),
        ("", 1000, -5, "pirate", {"q", "limit", "offset", "type"}),
    ])
    def test_bad_parameters_are_named(self, session: Session, q: str, limit: int | None,
                                      offset: int, user_type: str, fields: set[str]) -> None:
        viewer = make_user(session, "company")
        with pytest.raises(InvalidArgument) as error:
            search(session, viewer, q, limit=limit, offset=offset, user_type=user_type)
        assert violated(error) == fields

    @pytest.mark.parametrize(("q", "expected"), [
        ("%", ["Percy 100%", "Lit a%b_c"]),
        ("_", ["Under Score_d", "Lit a%b_c"]),
        ("'", ["Miles O'Brien", "Bobby ' OR 1=1 --"]),
        ("o'b", ["Miles O'Brien"]),
        ("' OR 1=1 --", ["Bobby ' OR 1=1 --"]),
        ("'; DROP TABLE users; --", []),
        ("\\", ["Back Sl\\ash"]),
        ("a%b_c", ["Lit a%b_c"]),
        ("a_b", []),
        ("100%", ["Percy 100%"]),
    ])
    def test_wildcards_quotes_and_sql_are_literal(self, session: Session, q: str,
                                                  expected: list[str]) -> None:
        """% and _ are no wildcards, quotes and SQL are just text: exactly the literal hits."""
        viewer = make_user(session, "company", first_name="View", last_name="Er")
        for first, last in (("Percy", "100%"), ("Under", "Score_d"), ("Miles", "O'Brien"),
                            ("Bobby", "' OR 1=1 --"), ("Back", "Sl\\ash"), ("Lit", "a%b_c"),
                            ("Plain", "Abc"), ("Other", "Person")):
            make_user(session, first_name=first, last_name=last)
        users, total = search(session, viewer, q, limit=100)
        assert sorted(names(users)) == sorted(expected)
        assert total == len(expected)
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 9, "table intact"

    def test_emails_are_shown_only_to_their_owner_and_admins(self, session: Session) -> None:
        """Decision: a search never shows another user's e-mail to candidates, companies or
        recruiters (any of those roles can be self-registered, so showing them would let
        anyone harvest addresses); admins see them, everyone sees their own."""
        alice = make_user(session, first_name="Alice", last_name="Searchable")
        bob = make_user(session, first_name="Bob", last_name="Searchable")
        hirer = make_user(session, "company", first_name="Hana", last_name="Searchable")
        recruiter = make_user(session, "recruiter", first_name="Rex", last_name="Searchable")
        admin = make_user(session, "admin", first_name="Ann", last_name="Searchable")
        users, _ = search(session, alice, "searchable")

        def shown(viewer: User) -> dict[int, str]:
            return {u.id: convert.user_summary(u, viewer=as_actor(viewer)).email for u in users}

        assert shown(alice)[alice.id] == alice.email
        assert shown(alice)[bob.id] == ""
        for viewer in (hirer, recruiter):
            assert shown(viewer)[alice.id] == ""
        assert shown(admin)[alice.id] == alice.email
        assert shown(admin)[hirer.id] == hirer.email


# ---- GetUser ----------------------------------------------------------------------------------
class TestGetUser:
    def make_public_candidate(self, session: Session) -> User:
        user = make_user(session, first_name="Pub", last_name="Lic", phone="+1 555 0100",
                         email="pub.lic@private.test", bio="Hello", location="Oslo",
                         github_url="https://github.com/publ")
        service.update_candidate_profile(session, actor=as_actor(user),
                                         update_in=service.CandidateProfileUpdateIn(
                                             headline="Data engineer", desired_salary_min=123_456,
                                             desired_salary_max=234_567))
        add_job(session, user)
        add_school(session, user)
        return user

    def test_shows_public_fields_only(self, session: Session) -> None:
        user = self.make_public_candidate(session)
        user.failed_login_count = 4
        session.flush()
        message = convert.public_user(service.get_public_profile(session, user_id=user.id))
        assert (message.id, message.first_name, message.last_name) == (user.id, "Pub", "Lic")
        assert message.profile.bio == "Hello" and message.profile.location == "Oslo"
        assert message.candidate_profile.headline == "Data engineer"
        assert len(message.work_experiences) == 1 and len(message.education) == 1
        assert not message.candidate_profile.HasField("desired_salary_min")
        assert not message.candidate_profile.HasField("desired_salary_max")
        field_names = {f.name for f in message.DESCRIPTOR.fields}
        assert not field_names & {"email", "phone", "is_active", "is_verified",
                                  "failed_login_count", "locked_until", "last_login_at"}
        wire = message.SerializeToString()
        for secret in (b"pub.lic@private.test", b"555 0100", b"123456", b"234567"):
            assert secret not in wire

    def test_private_candidate_profile_is_left_out(self, session: Session) -> None:
        user = self.make_public_candidate(session)
        profile = session.get(CandidateProfile, user.id)
        assert profile is not None
        profile.is_public = False
        session.flush()
        message = convert.public_user(service.get_public_profile(session, user_id=user.id))
        assert message.first_name == "Pub"
        assert not message.HasField("candidate_profile")
        assert not message.work_experiences and not message.education

    def test_other_roles_have_no_candidate_part(self, session: Session,
                                                company_user: User) -> None:
        message = convert.public_user(service.get_public_profile(session, user_id=company_user.id))
        assert message.user_type == "company"
        assert not message.HasField("candidate_profile")

    def test_inactive_and_unknown_users_are_not_found(self, session: Session) -> None:
        inactive = make_user(session, is_active=False)
        with pytest.raises(NotFound) as hidden:
            service.get_public_profile(session, user_id=inactive.id)
        with pytest.raises(NotFound) as unknown:
            service.get_public_profile(session, user_id=inactive.id + 10_000)
        assert hidden.value.reason == unknown.value.reason
