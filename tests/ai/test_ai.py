"""Offline AI matching: unit checks of the scorer, and the RPCs over REST through Envoy."""

from __future__ import annotations

import httpx

from hotgigs.ai import matching
from hotgigs.ai import skills as skill_names
from tests import factories
from tests.support.rest import bearer, register


def test_aliases_and_skill_spotting() -> None:
    assert skill_names.normalise_all(["JS", "Golang", "k8s", "Postgres", "go"]) == [
        "javascript", "go", "kubernetes", "postgresql"]
    found = skill_names.find_in_text("Built REST APIs in Python 3 with FastAPI on K8s; C++ too.")
    assert found == ["rest", "python", "fastapi", "kubernetes", "c++"]


def test_the_obviously_fitting_posting_ranks_first() -> None:
    seeker = matching.Seeker(("python", "postgres", "k8s"), "senior", "Berlin", True, 80000, 100000,
                             "backend engineer")
    fitting = matching.Posting(1, ("python", "postgresql", "kubernetes"), "senior", "Berlin",
                               True, 85000, 110000, "Senior backend engineer, Python services")
    other = matching.Posting(2, ("excel", "salesforce"), "entry", "Sydney", False, 30000, 35000,
                             "Sales assistant keeping customer records")
    ranked = matching.rank(seeker, [other, fitting], 10)
    assert [m.key for m in ranked] == [1, 2]
    assert ranked[0].score >= 70 > ranked[1].score  # BM25 is flat on a two-job corpus
    assert any("Skills match: kubernetes, postgresql, python" in r for r in ranked[0].reasons)
    assert all(0 <= m.score <= 100 for m in ranked)


def test_match_jobs_ranks_the_fitting_job_first(rest: httpx.Client) -> None:
    owner = factories.owner(rest, company_name="AI Co")
    fit = factories.job(rest, owner, title="Rust Kubernetes Platform Engineer",
                        skills_required=["rust", "kubernetes", "terraform"], experience_level="senior",
                        remote_work_allowed=True)
    factories.job(rest, owner, title="Junior Excel Assistant", skills_required=["excel", "rust"],
                  experience_level="entry", salary_min=20000, salary_max=25000)
    candidate = register(rest, "candidate")
    response = rest.post("/api/ai/match-jobs", headers=bearer(candidate), json={
        "skills": ["Rust", "k8s", "Terraform"], "experience_level": "senior",
        "remote_preference": True, "limit": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["matched_jobs"][0]["job"]["id"] == fit["id"]
    top = body["matched_jobs"][0]
    assert 0 < top["match_score"] <= 100
    assert any("rust" in reason for reason in top["match_reasons"])
    assert body["analysis_summary"]["skills_analyzed"] == ["rust", "kubernetes", "terraform"]
    assert rest.post("/api/ai/match-jobs", headers=bearer(candidate),
                     json={"skills": []}).status_code == 400


def test_recommendations_use_the_profile(rest: httpx.Client) -> None:
    owner = factories.owner(rest, company_name="AI Co")
    job = factories.job(rest, owner, title="Elixir Phoenix Developer", skills_required=["elixir", "phoenix"])
    candidate = register(rest, "candidate")
    assert rest.get("/api/ai/job-recommendations", headers=bearer(candidate)).json()["cold_start"]
    rest.put("/api/users/candidate-profile", headers=bearer(candidate),
             json={"skills": ["elixir", "phoenix"], "experience_level": "senior"})
    body = rest.get("/api/ai/job-recommendations", headers=bearer(candidate)).json()
    assert body["recommended_jobs"][0]["job"]["id"] == job["id"]
    assert body["profile_data"]["skills"] == ["elixir", "phoenix"]
    assert body["cold_start"] is False and body["hint"] == ""


def test_an_empty_profile_gets_a_cold_start_list_and_a_hint(rest: httpx.Client) -> None:
    """Issue 12 item 18: a new candidate got 400 "Add skills"; now 200 with open jobs."""
    owner = factories.owner(rest, company_name="AI Co")
    open_job = factories.job(rest, owner, title="Cold Start Open Role", skills_required=["cobol"])
    draft = factories.job(rest, owner, title="Cold Start Draft", publish=False)
    candidate = register(rest, "candidate")
    # a job with an application in the last 30 days ranks as popular
    assert rest.post("/api/applications", headers=bearer(register(rest, "candidate")),
                     json={"job_id": open_job["id"]}).status_code == 201
    response = rest.get("/api/ai/job-recommendations", headers=bearer(candidate),
                        params={"limit": 50})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cold_start"] is True
    assert "skills" in body["hint"]
    jobs = [item["job"] for item in body["recommended_jobs"]]
    assert jobs and body["total_recommendations"] == len(jobs) <= 50
    assert {job["status"] for job in jobs} == {"active"}
    assert draft["id"] not in {job["id"] for job in jobs}
    assert body["profile_data"]["skills"] == []
    limited = rest.get("/api/ai/job-recommendations", headers=bearer(candidate),
                       params={"limit": 1}).json()
    assert len(limited["recommended_jobs"]) == 1


def test_match_candidates_for_a_job(rest: httpx.Client) -> None:
    owner = factories.owner(rest, company_name="AI Co")
    job = factories.job(rest, owner, title="Haskell Engineer", skills_required=["haskell", "nix"])
    strong, weak = register(rest, "candidate"), register(rest, "candidate")
    rest.put("/api/users/candidate-profile", headers=bearer(strong),
             json={"skills": ["haskell", "nix"], "experience_level": "senior"})
    rest.put("/api/users/candidate-profile", headers=bearer(weak), json={"skills": ["haskell"]})
    body = rest.post("/api/ai/match-candidates", headers=bearer(owner),
                     json={"job_id": job["id"]}).json()
    ids = [m["candidate"]["id"] for m in body["matched_candidates"]]
    assert ids[:2] == [strong["user"]["id"], weak["user"]["id"]]
    stranger = register(rest, "company")
    assert rest.post("/api/ai/match-candidates", headers=bearer(stranger),
                     json={"job_id": job["id"]}).status_code == 403


def test_analyze_resume_against_a_job(rest: httpx.Client) -> None:
    owner = factories.owner(rest, company_name="AI Co")
    job = factories.job(rest, owner, skills_required=["python", "kafka", "terraform"])
    candidate = register(rest, "candidate")
    resume = ("Summary\nBackend engineer with 8 years in Python and PostgreSQL.\n"
              "Experience\nBuilt event pipelines processing 2,000,000 events a day.\n"
              "Education\nBSc Computer Science\nSkills\nPython, PostgreSQL, Docker, Git, Linux")
    body = rest.post("/api/ai/analyze-resume", headers=bearer(candidate),
                     json={"resume_text": resume, "target_job_id": job["id"]})
    assert body.status_code == 200, body.text
    analysis = body.json()["analysis"]
    assert analysis["sections_present"]["experience"] is True
    assert analysis["sections_present"]["projects"] is False
    assert analysis["job_specific"]["matching_keywords"] == ["python"]
    assert analysis["job_specific"]["missing_keywords"] == ["kafka", "terraform"]
    assert analysis["job_specific"]["match_percentage"] == 33.3


def test_ai_health_says_what_is_configured(rest: httpx.Client) -> None:
    body = rest.get("/api/ai/health").json()
    assert body["status"] == "healthy"
    assert body["openai_configured"] is False
