"""Membership by invitation (issue 12, items 7 and 14) over REST through Envoy: inviting
answers the same for every address, and only the invited user's acceptance makes a member."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.models import CompanyInvitation
from tests import factories
from tests.support.rest import bearer, register, unique_email


def company_of(rest: httpx.Client, owner: dict[str, Any], name: str = "Invite Co") -> int:
    company_id: int = factories.company(rest, owner, name=name)["id"]
    return company_id


def invite(rest: httpx.Client, owner: dict[str, Any], company_id: int,
           **who: Any) -> httpx.Response:
    return rest.post(f"/api/companies/{company_id}/members", headers=bearer(owner),
                     json={"role": "member", **who})


def test_the_answer_does_not_tell_which_addresses_have_accounts(rest: httpx.Client) -> None:
    owner = register(rest, "company")
    company_id = company_of(rest, owner)
    recruiter, candidate = register(rest, "recruiter"), register(rest, "candidate")
    answers = [invite(rest, owner, company_id, email=address) for address in (
        recruiter["user"]["email"], candidate["user"]["email"], unique_email(),
        owner["user"]["email"], recruiter["user"]["email"].upper())]
    assert {a.status_code for a in answers} == {202}
    assert len({a.content for a in answers}) == 1, [a.text for a in answers]
    assert "USER_NOT_FOUND" not in answers[0].text and "member" not in answers[0].json()


def test_an_invited_user_is_a_member_only_after_accepting(rest: httpx.Client) -> None:
    owner, recruiter = register(rest, "company"), register(rest, "recruiter")
    company_id = company_of(rest, owner, "Consent Co")
    assert invite(rest, owner, company_id, email=recruiter["user"]["email"],
                  role="recruiter").status_code == 202
    company = f"/api/companies/{company_id}"
    assert rest.get(company, headers=bearer(recruiter)).status_code == 403
    members = rest.get(f"{company}/members", headers=bearer(owner)).json()["members"]
    assert [m["user"]["id"] for m in members] == [owner["user"]["id"]]

    mine = rest.get("/api/companies/invitations", headers=bearer(recruiter))
    assert mine.status_code == 200, mine.text
    [invitation] = mine.json()["invitations"]
    assert (invitation["company_id"], invitation["company_name"], invitation["role"]) == (
        company_id, "Consent Co", "recruiter")
    notes = rest.get("/api/notifications", headers=bearer(recruiter)).json()["notifications"]
    assert any("Consent Co" in n["title"] for n in notes)

    joined = rest.post(f"{company}/invitations/accept", headers=bearer(recruiter), json={})
    assert joined.status_code == 200, joined.text
    assert joined.json()["member"]["role"] == "recruiter"
    assert rest.get(company, headers=bearer(recruiter)).status_code == 200
    assert rest.get("/api/companies/invitations", headers=bearer(recruiter)).json() == {
        "invitations": []}
    again = rest.post(f"{company}/invitations/accept", headers=bearer(recruiter), json={})
    assert again.status_code == 404


def test_revoked_declined_expired_and_foreign_invitations_cannot_be_accepted(
        rest: httpx.Client, database: Database) -> None:
    owner, other_owner = register(rest, "company"), register(rest, "company")
    company_id, other_id = company_of(rest, owner), company_of(rest, other_owner, "Other Co")
    revoked, declining, late = (register(rest, "company") for _ in range(3))
    for user in (revoked, declining, late):
        assert invite(rest, owner, company_id, user_id=user["user"]["id"]).status_code == 202
    listed = rest.get(f"/api/companies/{company_id}/invitations", headers=bearer(owner))
    assert listed.status_code == 200, listed.text
    ids = {i["user_id"]: i["id"] for i in listed.json()["invitations"]}
    path = f"/api/companies/{company_id}/invitations"

    # another company's admin neither lists nor revokes them; the invitee cannot list them
    assert rest.get(path, headers=bearer(other_owner)).status_code == 403
    assert rest.get(path, headers=bearer(revoked)).status_code == 403
    assert rest.delete(f"/api/companies/{other_id}/invitations/{ids[revoked['user']['id']]}",
                       headers=bearer(other_owner)).status_code == 404
    assert rest.delete(f"{path}/{ids[revoked['user']['id']]}",
                       headers=bearer(other_owner)).status_code == 404
    assert rest.delete(f"{path}/{ids[revoked['user']['id']]}",
                       headers=bearer(declining)).status_code == 404

    assert rest.delete(f"{path}/{ids[revoked['user']['id']]}",
                       headers=bearer(owner)).status_code == 200
    assert rest.delete(f"{path}/{ids[declining['user']['id']]}",
                       headers=bearer(declining)).status_code == 200
    with database.session_scope() as session:
        session.execute(sa.update(CompanyInvitation)
                        .where(CompanyInvitation.id == ids[late["user"]["id"]])
                        .values(expires_at=sa.func.now() - sa.text("interval '1 second'")))
    for user in (revoked, declining, late):
        answer = rest.post(f"{path}/accept", headers=bearer(user), json={})
        assert answer.status_code == 404, answer.text
        assert rest.get(f"/api/companies/{company_id}", headers=bearer(user)).status_code == 403
    assert rest.get(path, headers=bearer(owner)).json() == {"invitations": []}


def test_only_company_and_recruiter_accounts_join(rest: httpx.Client) -> None:
    owner, candidate = register(rest, "company"), register(rest, "candidate")
    company_id = company_of(rest, owner)
    assert invite(rest, owner, company_id, email=candidate["user"]["email"]).status_code == 202
    assert rest.post(f"/api/companies/{company_id}/invitations/accept",
                     headers=bearer(candidate), json={}).status_code == 403
    assert rest.get(f"/api/companies/{company_id}/members", headers=bearer(owner)).json()[
        "members"][0]["user"]["id"] == owner["user"]["id"]


def test_bad_invitations_are_named(rest: httpx.Client) -> None:
    owner = register(rest, "company")
    company_id = company_of(rest, owner)
    for body in ({}, {"email": "not-an-address"}, {"email": unique_email(), "user_id": 1},
                 {"email": unique_email(), "role": "owner"}):
        answer = rest.post(f"/api/companies/{company_id}/members", headers=bearer(owner),
                           json=body)
        assert answer.status_code == 400, (body, answer.text)
