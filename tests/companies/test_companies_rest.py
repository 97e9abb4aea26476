"""Companies and members over REST through Envoy."""

from __future__ import annotations

from typing import Any

import httpx

from tests import factories
from tests.support.rest import bearer, register

ACME = {"name": "Acme Widgets & Co.", "description": "We make widgets.", "industry": "Manufacturing",
        "company_size": "51-200", "website": "https://acme.example", "location": "Berlin"}


def create(rest: httpx.Client, owner: dict[str, Any], **overrides: object) -> dict[str, Any]:
    return factories.company(rest, owner, **{**ACME, **overrides})


def test_create_makes_the_creator_an_admin_member(rest: httpx.Client) -> None:
    owner = register(rest, "company")
    company = create(rest, owner)
    assert company["name"] == "Acme Widgets & Co."
    assert company["created_by"] == owner["user"]["id"]
    members = rest.get(f"/api/companies/{company['id']}/members", headers=bearer(owner)).json()
    assert [(m["user"]["id"], m["role"]) for m in members["members"]] == [
        (owner["user"]["id"], "admin")]
    mine = rest.get("/api/companies", headers=bearer(owner)).json()["companies"]
    assert [c["id"] for c in mine] == [company["id"]]


def test_the_list_shows_each_company_as_its_detail_does_by_name(rest: httpx.Client) -> None:
    """The list (a hot read on rows) answers every field of each of the caller's companies
    exactly as the detail (an entity) does, empty optional fields included, by name."""
    owner, other = register(rest, "company"), register(rest, "company")
    zulu = create(rest, owner, name="Zulu Works", founded_year=1999)
    alpha = factories.company(rest, owner, name="Alpha Bare")  # no optional field set
    create(rest, other, name="Beta Elsewhere")
    mine = rest.get("/api/companies", headers=bearer(owner)).json()["companies"]
    details = [rest.get(f"/api/companies/{c['id']}", headers=bearer(owner)).json()["company"]
               for c in (alpha, zulu)]
    assert mine == details
    assert [c["name"] for c in mine] == ["Alpha Bare", "Zulu Works"]
    assert mine[1]["founded_year"] == 1999 and "founded_year" not in mine[0]


def test_validation_names_the_fields(rest: httpx.Client) -> None:
    owner = register(rest, "company")
    response = rest.post("/api/companies", headers=bearer(owner), json={
        "name": "A", "website": "not a url", "founded_year": 1200})
    assert response.status_code == 400
    fields = {v["field"] for d in response.json()["details"] for v in d.get("field_violations", [])}
    assert {"name", "website", "founded_year"} <= fields


def test_only_members_see_a_company(rest: httpx.Client) -> None:
    owner, stranger = register(rest, "company"), register(rest, "recruiter")
    company = create(rest, owner)
    assert rest.get(f"/api/companies/{company['id']}", headers=bearer(owner)).status_code == 200
    assert rest.get(f"/api/companies/{company['id']}", headers=bearer(stranger)).status_code == 403
    assert rest.get(f"/api/companies/{company['id']}/members",
                    headers=bearer(stranger)).status_code == 403
    assert rest.get("/api/companies/999999", headers=bearer(owner)).status_code == 404


def test_members_are_managed_by_company_admins(rest: httpx.Client) -> None:
    owner, recruiter, candidate = (register(rest, "company"), register(rest, "recruiter"),
                                   register(rest, "candidate"))
    company = create(rest, owner)
    path = f"/api/companies/{company['id']}/members"
    invited = rest.post(path, headers=bearer(owner), json={"email": recruiter["user"]["email"],
                                                           "role": "recruiter"})
    assert invited.status_code == 202, invited.text
    assert rest.post(path, headers=bearer(recruiter),
                     json={"email": candidate["user"]["email"]}).status_code == 403
    joined = rest.post(f"/api/companies/{company['id']}/invitations/accept",
                       headers=bearer(recruiter), json={})
    assert joined.status_code == 200, joined.text
    assert joined.json()["member"]["role"] == "recruiter"
    # A plain member can read but not manage.
    assert rest.get(f"/api/companies/{company['id']}", headers=bearer(recruiter)).status_code == 200
    assert rest.put(f"/api/companies/{company['id']}", headers=bearer(recruiter),
                    json={"name": "Hijacked"}).status_code == 403
    assert rest.delete(f"{path}/{owner['user']['id']}", headers=bearer(recruiter)).status_code == 403
    # The last admin cannot leave; a member can.
    assert rest.delete(f"{path}/{owner['user']['id']}", headers=bearer(owner)).status_code == 400
    assert rest.delete(f"{path}/{recruiter['user']['id']}",
                       headers=bearer(recruiter)).status_code == 200
    assert rest.get(f"/api/companies/{company['id']}", headers=bearer(recruiter)).status_code == 403


def test_update_changes_only_what_was_sent(rest: httpx.Client) -> None:
    owner = register(rest, "company")
    company = create(rest, owner)
    updated = rest.put(f"/api/companies/{company['id']}", headers=bearer(owner), json={
        "description": "<script>x</script>Better widgets", "founded_year": 1999,
        "clear_fields": ["location"]})
    assert updated.status_code == 200, updated.text
    body = updated.json()["company"]
    assert body["description"] == "Better widgets"
    assert body["founded_year"] == 1999
    assert body["location"] == ""
    assert body["name"] == ACME["name"]


def test_slugs_are_url_safe_and_unique(database: object) -> None:
    from hotgigs.companies.service import slugify

    assert slugify("Acme GmbH & Co.") == "acme-gmbh-co"
    assert slugify("Café Zürich") == "cafe-zurich"
    assert slugify("!!!") == "company"


def test_same_name_gets_distinct_slugs(rest: httpx.Client, database: Any) -> None:
    import sqlalchemy as sa

    from hotgigs.models import Company

    owner = register(rest, "company")
    first, second = create(rest, owner, name="Twin Corp"), create(rest, owner, name="Twin Corp")
    with database.session_scope() as session:
        slugs = dict(session.execute(sa.select(Company.id, Company.slug).where(
            Company.id.in_([first["id"], second["id"]]))).all())
    assert slugs[first["id"]] != slugs[second["id"]]
    assert all(slug.startswith("twin-corp") for slug in slugs.values())
