"""The companies service and its invitations without gRPC or Envoy, on the suite's real
PostgreSQL: each test runs in one rolled-back transaction (the `session` fixture)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.companies import invitations, service
from hotgigs.context import Principal
from hotgigs.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from hotgigs.models import Company, User
from hotgigs.notifications import service as notifications
from tests.factories import make_owner, make_user


def as_actor(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.user_type, session_id="s", token_id="t")


def violated(error: pytest.ExceptionInfo[InvalidArgument]) -> set[str]:
    return {violation.field for violation in error.value.violations}


def add_member(session: Session, admin: User, company: Company, user: User,
               role: str = "member") -> None:
    """`user` joins `company` through an invitation of `admin`'s, as over the API."""
    invitations.invite(session, actor=as_actor(admin), company_id=company.id,
                       invitation_in=invitations.InvitationIn(user_id=user.id, role=role))
    invitations.accept(session, actor=as_actor(user), company_id=company.id)


class TestCreate:
    def test_the_creator_becomes_its_admin_and_slugs_stay_unique(self, session: Session) -> None:
        creator = make_user(session, "company")
        first = service.create(session, actor=as_actor(creator),
                               company_in=service.CompanyIn(name="Ünïcode Labs GmbH"))
        second = service.create(session, actor=as_actor(creator),
                                company_in=service.CompanyIn(name="Unicode Labs GmbH",
                                                             founded_year=1999))
        assert (first.slug, second.slug) == ("unicode-labs-gmbh", "unicode-labs-gmbh-2")
        assert second.founded_year == 1999 and first.founded_year is None
        member = service.membership(session, company_id=first.id, user_id=creator.id)
        assert member is not None and member.role == service.MEMBER_ADMIN
        assert [c.id for c in service.list_companies(session, actor=as_actor(creator))] \
            == [second.id, first.id]  # by name

    def test_refuses_every_invalid_field_at_once(self, session: Session) -> None:
        creator = make_user(session, "company")
        with pytest.raises(InvalidArgument) as refused:
            service.create(session, actor=as_actor(creator), company_in=service.CompanyIn(
                name="A", website="javascript:alert(1)", founded_year=1700))
        assert violated(refused) == {"name", "website", "founded_year"}

    def test_a_name_is_required(self, session: Session) -> None:
        with pytest.raises(InvalidArgument) as refused:
            service.create(session, actor=as_actor(make_user(session, "company")),
                           company_in=service.CompanyIn(description="No name"))
        assert violated(refused) == {"name"}


class TestAccess:
    def test_members_and_platform_admins_see_a_company_others_do_not(
            self, session: Session) -> None:
        owner, company = make_owner(session)
        assert service.get(session, actor=as_actor(owner), company_id=company.id) is company
        admin = make_user(session, "admin")
        assert service.get(session, actor=as_actor(admin), company_id=company.id) is company
        with pytest.raises(PermissionDenied):
            service.get(session, actor=as_actor(make_user(session, "company")),
                        company_id=company.id)
        with pytest.raises(NotFound):
            service.get(session, actor=as_actor(owner), company_id=company.id + 10_000)

    def test_members_are_listed_with_their_accounts(self, session: Session) -> None:
        owner, company = make_owner(session)
        recruiter = make_user(session, "recruiter")
        add_member(session, owner, company, recruiter, role="recruiter")
        listed = service.list_members(session, actor=as_actor(recruiter), company_id=company.id)
        assert {(user.id, member.role) for member, user in listed} \
            == {(owner.id, "admin"), (recruiter.id, "recruiter")}


class TestUpdate:
    def test_changes_the_fields_given_and_clears_those_named(self, session: Session) -> None:
        owner, company = make_owner(session, industry="Software", location="Berlin",
                                    founded_year=2001)
        updated = service.update(session, actor=as_actor(owner), company_id=company.id,
                                 update_in=service.CompanyUpdateIn(
                                     description="We build things.", clear=("founded_year",)))
        assert (updated.description, updated.industry, updated.location, updated.founded_year) \
            == ("We build things.", "Software", "Berlin", None)

    def test_an_empty_text_clears_an_optional_field_but_not_the_name(
            self, session: Session) -> None:
        owner, company = make_owner(session, industry="Software")
        updated = service.update(session, actor=as_actor(owner), company_id=company.id,
                                 update_in=service.CompanyUpdateIn(industry=""))
        assert updated.industry is None
        with pytest.raises(InvalidArgument) as refused:
            service.update(session, actor=as_actor(owner), company_id=company.id,
                           update_in=service.CompanyUpdateIn(name=""))
        assert violated(refused) == {"name"}
        with pytest.raises(InvalidArgument) as unknown:
            service.update(session, actor=as_actor(owner), company_id=company.id,
                           update_in=service.CompanyUpdateIn(clear=("name",)))
        assert violated(unknown) == {"clear_fields"}

    def test_only_company_admins_change_it(self, session: Session) -> None:
        owner, company = make_owner(session)
        member = make_user(session, "company")
        add_member(session, owner, company, member)
        with pytest.raises(PermissionDenied):
            service.update(session, actor=as_actor(member), company_id=company.id,
                           update_in=service.CompanyUpdateIn(description="Not mine"))


class TestMembers:
    def test_the_last_admin_cannot_leave_a_member_can(self, session: Session) -> None:
        owner, company = make_owner(session)
        member = make_user(session, "recruiter")
        add_member(session, owner, company, member)
        with pytest.raises(FailedPrecondition):
            service.remove_member(session, actor=as_actor(owner), company_id=company.id,
                                  user_id=owner.id)
        service.remove_member(session, actor=as_actor(member), company_id=company.id,
                              user_id=member.id)
        assert service.member_ids(session, company_id=company.id) == [owner.id]

    def test_a_member_cannot_remove_another(self, session: Session) -> None:
        owner, company = make_owner(session)
        first, second = make_user(session, "company"), make_user(session, "company")
        add_member(session, owner, company, first)
        add_member(session, owner, company, second)
        with pytest.raises(PermissionDenied):
            service.remove_member(session, actor=as_actor(first), company_id=company.id,
                                  user_id=second.id)


class TestInvitations:
    def test_an_invited_company_user_is_notified_and_joins_with_the_role(
            self, session: Session) -> None:
        owner, company = make_owner(session)
        invitee = make_user(session, "recruiter")
        invitations.invite(session, actor=as_actor(owner), company_id=company.id,
                           invitation_in=invitations.InvitationIn(email=invitee.email,
                                                                  role="recruiter"))
        assert notifications.unread_count(session, actor=as_actor(invitee)) == 1
        assert [c.id for _, c in invitations.list_invitations(session, actor=as_actor(invitee))] \
            == [company.id]
        member, user, joined = invitations.accept(session, actor=as_actor(invitee),
                                                  company_id=company.id)
        assert (member.role, user.id, joined.id) == ("recruiter", invitee.id, company.id)
        assert invitations.list_for_company(session, actor=as_actor(owner),
                                            company_id=company.id) == []

    def test_candidates_cannot_join(self, session: Session) -> None:
        owner, company = make_owner(session)
        candidate = make_user(session, "candidate")
        invitations.invite(session, actor=as_actor(owner), company_id=company.id,
                           invitation_in=invitations.InvitationIn(email=candidate.email))
        with pytest.raises(PermissionDenied):
            invitations.accept(session, actor=as_actor(candidate), company_id=company.id)

    def test_unknown_ids_store_nothing_and_exactly_one_target_is_required(
            self, session: Session) -> None:
        owner, company = make_owner(session)
        invitations.invite(session, actor=as_actor(owner), company_id=company.id,
                           invitation_in=invitations.InvitationIn(user_id=owner.id + 10_000))
        assert invitations.list_for_company(session, actor=as_actor(owner),
                                            company_id=company.id) == []
        with pytest.raises(InvalidArgument):
            invitations.invite(session, actor=as_actor(owner), company_id=company.id,
                               invitation_in=invitations.InvitationIn())

    def test_the_invitee_declines_a_stranger_sees_nothing(self, session: Session) -> None:
        owner, company = make_owner(session)
        invitee = make_user(session, "company")
        invitations.invite(session, actor=as_actor(owner), company_id=company.id,
                           invitation_in=invitations.InvitationIn(user_id=invitee.id))
        [(pending, _)] = invitations.list_for_company(session, actor=as_actor(owner),
                                                      company_id=company.id)
        with pytest.raises(NotFound):
            invitations.delete(session, actor=as_actor(make_user(session, "company")),
                               company_id=company.id, invitation_id=pending.id)
        invitations.delete(session, actor=as_actor(invitee), company_id=company.id,
                           invitation_id=pending.id)
        assert invitations.list_invitations(session, actor=as_actor(invitee)) == []

    def test_only_company_admins_invite(self, session: Session) -> None:
        owner, company = make_owner(session)
        other_owner, _ = make_owner(session)
        with pytest.raises(PermissionDenied):
            invitations.invite(session, actor=as_actor(other_owner), company_id=company.id,
                               invitation_in=invitations.InvitationIn(user_id=owner.id))


def test_public_summary_is_the_summary_columns_only(session: Session) -> None:
    """What companies exports for a join (jobs' search and detail): a company's summary
    columns, read from its table, and none of its other columns."""
    _, company = make_owner(session)
    summary = service.public_summary()
    assert set(summary.c.keys()) == {"id", "name", "logo_url", "industry", "location",
                                     "company_size"}
    row = session.execute(sa.select(summary).where(summary.c.id == company.id)).one()
    assert (row.id, row.name, row.industry) == (company.id, company.name, company.industry)
