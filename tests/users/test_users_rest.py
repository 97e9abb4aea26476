"""The users module over REST through Envoy: profiles, history, search, public profiles."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.rest import bearer, register


def fields(response: httpx.Response) -> set[str]:
    return {v["field"] for d in response.json()["details"] for v in d.get("field_violations", [])}


@pytest.fixture
def candidate(rest: httpx.Client) -> dict[str, Any]:
    return register(rest, "candidate")


class TestProfile:
    def test_get_and_update_the_own_profile(self, rest: httpx.Client,
                                            candidate: dict[str, Any]) -> None:
        profile = rest.get("/api/users/profile", headers=bearer(candidate))
        assert profile.status_code == 200
        assert profile.json()["user"]["email"] == candidate["user"]["email"]
        assert profile.json()["candidate_profile"]["user_id"] == candidate["user"]["id"]
        updated = rest.put("/api/users/profile", headers=bearer(candidate), json={
            "bio": "Builds <b>reliable</b> systems<script>alert(1)</script>",
            "location": "Berlin", "linkedin_url": "https://linkedin.com/in/ada"})
        assert updated.status_code == 200, updated.text
        user = updated.json()["user"]
        assert user["profile"]["bio"] == "Builds reliable systems"
        assert user["profile"]["location"] == "Berlin"
        assert user["first_name"] == candidate["user"]["first_name"], "absent fields unchanged"
        cleared = rest.put("/api/users/profile", headers=bearer(candidate), json={"location": ""})
        assert cleared.json()["user"]["profile"]["location"] == ""
        assert cleared.json()["user"]["profile"]["bio"] == "Builds reliable systems"

    def test_bad_profile_fields_are_named(self, rest: httpx.Client,
                                          candidate: dict[str, Any]) -> None:
        response = rest.put("/api/users/profile", headers=bearer(candidate), json={
            "first_name": "", "bio": "x" * 2001, "github_url": "javascript:alert(1)"})
        assert response.status_code == 400
        assert {"first_name", "bio", "github_url"} <= fields(response)

    def test_candidate_profile_update(self, rest: httpx.Client, candidate: dict[str, Any]) -> None:
        response = rest.put("/api/users/candidate-profile", headers=bearer(candidate), json={
            "headline": "Python engineer", "skills": ["python", "postgresql", "python"],
            "experience_level": "senior", "experience_years": 7, "availability": "2_weeks",
            "desired_salary_min": 90000, "desired_salary_max": 120000, "currency": "EUR",
            "remote_preference": True})
        assert response.status_code == 200, response.text
        profile = response.json()["candidate_profile"]
        assert profile["skills"] == ["python", "postgresql"]
        assert profile["experience_years"] == 7
        assert profile["currency"] == "EUR"
        cleared = rest.put("/api/users/candidate-profile", headers=bearer(candidate),
                           json={"clear_fields": ["desired_salary_max", "skills"]})
        assert cleared.status_code == 200
        assert "desired_salary_max" not in cleared.json()["candidate_profile"]
        assert cleared.json()["candidate_profile"]["skills"] == []

    def test_candidate_profile_rules(self, rest: httpx.Client, candidate: dict[str, Any]) -> None:
        response = rest.put("/api/users/candidate-profile", headers=bearer(candidate), json={
            "desired_salary_min": 200, "desired_salary_max": 100, "experience_level": "guru",
            "availability": "someday", "clear_fields": ["email"]})
        assert response.status_code == 400

    def test_only_candidates_have_a_candidate_profile(self, rest: httpx.Client) -> None:
        company = register(rest, "company")
        response = rest.put("/api/users/candidate-profile", headers=bearer(company),
                            json={"headline": "x"})
        assert response.status_code == 403


class TestHistory:
    def test_experience_add_update_delete(self, rest: httpx.Client,
                                          candidate: dict[str, Any]) -> None:
        added = rest.post("/api/users/experience", headers=bearer(candidate), json={
            "company_name": "Initech", "job_title": "Engineer", "start_date": "2019-03-01",
            "end_date": "2022-06-30", "achievements": ["Shipped TPS v2"],
            "skills_used": ["python"]})
        assert added.status_code == 201, added.text
        entry = added.json()["experience"]
        assert entry["company_name"] == "Initech"
        updated = rest.put(f"/api/users/experience/{entry['id']}", headers=bearer(candidate),
                           json={"is_current": True, "job_title": "Staff Engineer"})
        assert updated.status_code == 200
        assert updated.json()["experience"]["end_date"] == "", "current jobs have no end"
        assert updated.json()["experience"]["job_title"] == "Staff Engineer"
        listed = rest.get("/api/users/profile", headers=bearer(candidate)).json()
        assert [e["id"] for e in listed["work_experiences"]] == [entry["id"]]
        assert rest.delete(f"/api/users/experience/{entry['id']}",
                           headers=bearer(candidate)).status_code == 200
        assert rest.delete(f"/api/users/experience/{entry['id']}",
                           headers=bearer(candidate)).status_code == 404

    def test_experience_validation(self, rest: httpx.Client, candidate: dict[str, Any]) -> None:
        response = rest.post("/api/users/experience", headers=bearer(candidate), json={
            "company_name": "", "job_title": "x" * 201, "start_date": "2022-02-30",
            "end_date": "2020-01-01"})
        assert response.status_code == 400
        assert {"company_name", "job_title", "start_date"} <= fields(response)
        backwards = rest.post("/api/users/experience", headers=bearer(candidate), json={
            "company_name": "A", "job_title": "B", "start_date": "2022-01-01",
            "end_date": "2020-01-01"})
        assert backwards.status_code == 400
        assert "end_date" in fields(backwards)

    def test_someone_elses_entry_is_not_found(self, rest: httpx.Client,
                                              candidate: dict[str, Any]) -> None:
        other = register(rest, "candidate")
        entry = rest.post("/api/users/education", headers=bearer(other), json={
            "institution_name": "MIT", "degree": "BSc", "start_date": "2010-09-01",
            "end_date": "2014-06-30", "gpa": 3.7}).json()["education"]
        assert entry["gpa"] == pytest.approx(3.7)
        for method in ("PUT", "DELETE"):
            response = rest.request(method, f"/api/users/education/{entry['id']}",
                                    headers=bearer(candidate), json={"degree": "PhD"})
            assert response.status_code == 404
        assert rest.put(f"/api/users/education/{entry['id']}", headers=bearer(other),
                        json={"clear_fields": ["gpa"]}).json()["education"].get("gpa") is None

    def test_education_gpa_range(self, rest: httpx.Client, candidate: dict[str, Any]) -> None:
        response = rest.post("/api/users/education", headers=bearer(candidate), json={
            "institution_name": "MIT", "gpa": 11})
        assert response.status_code == 400
        assert "gpa" in fields(response)


class TestSearchAndPublicProfiles:
    def test_search_finds_by_name_with_a_true_total(self, rest: httpx.Client) -> None:
        searcher = register(rest, "recruiter")
        marker = "Zebulon"
        for _ in range(3):
            account = register(rest, "candidate")
            rest.put("/api/users/profile", headers=bearer(account), json={"last_name": marker})
        page = rest.get("/api/users/search", headers=bearer(searcher),
                        params={"q": "zebul", "type": "candidate", "limit": 2})
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["users"]) == 2
        assert body["pagination"] == {"limit": 2, "offset": 0, "total": 3}
        assert all(user["email"] == "" for user in body["users"]), "no e-mails of others"

    @pytest.mark.parametrize("term", ["%", "_", "'", "' OR 1=1 --", "\\", "a%b_c"])
    def test_search_treats_wildcards_and_quotes_literally(self, rest: httpx.Client,
                                                           term: str) -> None:
        """Every hit really contains the term: % and _ are not wildcards, quotes do no harm."""
        searcher = register(rest, "company")
        response = rest.get("/api/users/search", headers=bearer(searcher),
                            params={"q": term, "limit": 100})
        assert response.status_code == 200, response.text
        for user in response.json()["users"]:
            assert term.lower() in f"{user['first_name']} {user['last_name']}".lower()
        total = response.json()["pagination"]["total"]
        everyone = rest.get("/api/users/search", headers=bearer(searcher),
                            params={"q": "e", "limit": 1}).json()["pagination"]["total"]
        assert total < everyone

    def test_search_needs_a_term_and_sane_paging(self, rest: httpx.Client) -> None:
        searcher = register(rest, "company")
        response = rest.get("/api/users/search", headers=bearer(searcher),
                            params={"q": "", "limit": 1000, "type": "pirate"})
        assert response.status_code == 400
        assert {"q", "limit", "type"} <= fields(response)

    def test_public_profile_shows_public_fields_only(self, rest: httpx.Client,
                                                     candidate: dict[str, Any]) -> None:
        rest.put("/api/users/candidate-profile", headers=bearer(candidate), json={
            "headline": "Data engineer", "desired_salary_min": 1, "phone": "+1 555"})
        response = rest.get(f"/api/users/{candidate['user']['id']}")
        assert response.status_code == 200
        text = response.text
        assert candidate["user"]["email"] not in text
        assert "desired_salary" not in text
        assert "phone" not in text
        assert response.json()["user"]["candidate_profile"]["headline"] == "Data engineer"

    def test_unknown_user_is_404(self, rest: httpx.Client) -> None:
        assert rest.get("/api/users/999999").status_code == 404
