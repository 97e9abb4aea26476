"""The ai service without gRPC or Envoy, on the real PostgreSQL of the suite: its pools come
from the jobs, users and analytics services, then the offline matcher ranks them.

Each test runs in one transaction of the module's own database (the `session` fixture), rolled
back at the end, so it sees only what it creates. Skills are made unique per test (`_skill`),
so the pools hold only this test's rows.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy.orm import Session

from hotgigs import visibility
from hotgigs.ai import service
from hotgigs.context import Principal
from hotgigs.errors import InvalidArgument, NotFound, PermissionDenied
from hotgigs.models import CandidateProfile, Job, User
from tests.factories import make_application, make_candidate, make_job, make_owner

RESUME = ("Summary\nBackend engineer.\nExperience\nBuilt payment services in Python for 5 years, "
          "cut latency by 40%.\nEducation\nBSc Computer Science\nSkills\nPython, PostgreSQL, Docker")


def _actor(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.user_type, session_id="", token_id="")


def _skill() -> str:
    return f"skill{uuid.uuid4().hex[:10]}"


def _candidate(session: Session, *skills: str, public: bool = True, **user_fields: object) -> User:
    user = make_candidate(session, **user_fields)
    profile = session.get(CandidateProfile, user.id)
    assert profile is not None
    profile.skills, profile.is_public, profile.experience_level = list(skills), public, "senior"
    session.flush()
    return user


class TestSeeker:
    def test_a_valid_request(self) -> None:
        seeker, limit = service.seeker(service.MatchJobsIn(
            skills=("Python",), experience_level="", location_preference="Berlin",
            remote_preference=True, salary_min=50_000))
        assert (seeker.skills, seeker.experience_level, seeker.location, seeker.remote,
                seeker.salary_min, limit) == (("Python",), None, "Berlin", True, 50_000,
                                              service.LIMIT_DEFAULT)

    @pytest.mark.parametrize(("match_in", "field"), [
        (service.MatchJobsIn(), "skills"),
        (service.MatchJobsIn(skills=("Python",), experience_level="wizard"), "experience_level"),
        (service.MatchJobsIn(skills=("Python",), limit=0), "limit"),
        (service.MatchJobsIn(skills=("Python",), limit=service.LIMIT_MAX + 1), "limit"),
        (service.MatchJobsIn(skills=("x",) * 51), "skills"),
    ])
    def test_bad_input_names_the_field(self, match_in: service.MatchJobsIn, field: str) -> None:
        with pytest.raises(InvalidArgument) as refused:
            service.seeker(match_in)
        assert {v.field for v in refused.value.violations} == {field}


class TestMatchJobs:
    def test_open_jobs_sharing_a_skill_best_first_with_their_companies(
            self, session: Session) -> None:
        skill, other = _skill(), _skill()
        _, company = make_owner(session)
        both = make_job(session, company, skills_required=[skill, other])
        one = make_job(session, company, skills_required=[skill, "cobol"])
        make_job(session, company, skills_required=[skill], status="draft")
        make_job(session, company, skills_required=[skill], status="closed")
        seeker, _ = service.seeker(service.MatchJobsIn(skills=(skill, other)))
        ranked, analysed = service.match_jobs(session, seeker=seeker, limit=10)
        assert analysed == 2
        assert [job.id for job, _, _ in ranked] == [both.id, one.id]
        assert {found.id for _, found, _ in ranked} == {company.id}
        assert ranked[0][2].score > ranked[1][2].score

    def test_no_shared_skill_no_match(self, session: Session) -> None:
        _, company = make_owner(session)
        make_job(session, company, skills_required=[_skill()])
        seeker, _ = service.seeker(service.MatchJobsIn(skills=(_skill(),)))
        ranked, _ = service.match_jobs(session, seeker=seeker, limit=10)
        assert ranked == []


class TestRecommendations:
    def test_a_profile_with_skills_gets_its_matches(self, session: Session) -> None:
        skill = _skill()
        _, company = make_owner(session)
        job = make_job(session, company, skills_required=[skill])
        candidate = _candidate(session, skill)
        found = service.recommend_jobs(session, actor=_actor(candidate), limit=5)
        assert found.seeker is not None and found.seeker.skills == (skill,)
        assert [j.id for j, _, _ in found.jobs] == [job.id]

    def test_a_cold_start_gets_open_jobs_most_applied_to_recently_first(
            self, session: Session) -> None:
        _, company = make_owner(session)
        quiet = make_job(session, company)
        popular = make_job(session, company)
        closed = make_job(session, company, status="closed")
        expired = make_job(session, company)
        for job in (popular, popular, closed, closed, closed, expired, expired, expired):
            make_application(session, make_candidate(session), job)
        expired.application_deadline = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        session.flush()
        found = service.recommend_jobs(session, actor=_actor(_candidate(session)),
                                       limit=service.LIMIT_MAX)
        ids = [job.id for job, _, _ in found.jobs]
        assert found.seeker is None
        assert ids.index(popular.id) < ids.index(quiet.id)
        assert closed.id not in ids and expired.id not in ids
        assert all(match.reasons == (service.COLD_START_REASON,) for _, _, match in found.jobs)

    def test_refuses_a_limit_out_of_range(self, session: Session) -> None:
        candidate = _candidate(session)
        for limit in (0, service.LIMIT_MAX + 1):
            with pytest.raises(InvalidArgument):
                service.recommend_jobs(session, actor=_actor(candidate), limit=limit)


class TestMatchCandidates:
    def test_public_active_candidates_sharing_a_skill_for_the_company(
            self, session: Session) -> None:
        skill = _skill()
        owner, company = make_owner(session)
        job = make_job(session, company, skills_required=[skill], experience_level="senior")
        public = _candidate(session, skill)
        _candidate(session, skill, public=False)
        _candidate(session, skill, is_active=False)
        _candidate(session, _skill())
        found, ranked, pool = service.match_candidates(session, actor=_actor(owner), job_id=job.id,
                                                       limit=None)
        assert found.id == job.id and pool == 1
        assert [user.id for user, _, _ in ranked] == [public.id]

    def test_only_the_company_matches_and_a_missing_job_is_not_found(
            self, session: Session) -> None:
        _, company = make_owner(session)
        stranger, _ = make_owner(session)
        job = make_job(session, company)
        with pytest.raises(PermissionDenied):
            service.match_candidates(session, actor=_actor(stranger), job_id=job.id, limit=None)
        with pytest.raises(NotFound):
            service.match_candidates(session, actor=_actor(stranger), job_id=job.id + 10_000,
                                     limit=None)

    def test_applicants_of_the_company_are_seen_as_applicants(self, session: Session) -> None:
        owner, company = make_owner(session)
        job = make_job(session, company)
        applicant, other = make_candidate(session), make_candidate(session)
        make_application(session, applicant, job)
        seen = service.audiences_of(session, actor=_actor(owner),
                                    candidate_ids=[applicant.id, other.id])
        assert visibility.APPLICANT_COMPANY in seen[applicant.id]
        assert visibility.APPLICANT_COMPANY not in seen[other.id]


class TestAnalyzeResume:
    def test_sections_skills_and_fit_to_an_open_job(self, session: Session) -> None:
        _, company = make_owner(session)
        job = make_job(session, company, skills_required=["python", "kubernetes"])
        result = service.analyze_resume(
            session, resume_in=service.ResumeIn(resume_text=RESUME, target_job_id=job.id))
        assert result.sections_present["experience"] and result.sections_present["skills"]
        assert "python" in result.skills_found
        assert result.job_specific is not None
        assert result.job_specific.matching_keywords == ["python"]
        assert result.job_specific.missing_keywords == ["kubernetes"]
        assert result.job_specific.match_percentage == 50.0

    def test_refuses_short_text_and_a_job_that_is_not_open(self, session: Session) -> None:
        _, company = make_owner(session)
        draft: Job = make_job(session, company, status="draft")
        with pytest.raises(InvalidArgument):
            service.analyze_resume(session, resume_in=service.ResumeIn(resume_text="too short"))
        for target in (draft.id, draft.id + 10_000):
            with pytest.raises(InvalidArgument):
                service.analyze_resume(
                    session, resume_in=service.ResumeIn(resume_text=RESUME, target_job_id=target))

    def test_without_a_target_no_job_part(self, session: Session) -> None:
        assert service.analyze_resume(
            session, resume_in=service.ResumeIn(resume_text=RESUME)).job_specific is None


def test_rerank_without_a_reranker_keeps_the_order() -> None:
    seeker, _ = service.seeker(service.MatchJobsIn(skills=("python",)))
    assert service.rerank(None, seeker, []) == []
