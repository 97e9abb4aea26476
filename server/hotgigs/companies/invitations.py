"""Membership by invitation: a company admin invites, the invited user accepts (or declines).

Inviting answers the same whatever the address: an invitation by e-mail is stored whether or
not an account has that address, and its type is checked only when someone accepts, so the
company learns nothing about which addresses have accounts. Invitations expire after
`INVITATION_DAYS`; inviting again renews one. Plain Python on a session; never commits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.orm import Session

from hotgigs.audit import service as audit_service
from hotgigs.companies import queries
from hotgigs.companies.service import get_company_or_raise, membership, require_member
from hotgigs.context import Principal
from hotgigs.core.rpc import COMPANY, RECRUITER
from hotgigs.errors import NotFound, PermissionDenied
from hotgigs.models import COMPANY_MEMBER_ROLES, Company, CompanyInvitation, CompanyMember
from hotgigs.notifications import service as notifications
from hotgigs.users import service as users_service
from hotgigs.validation import Validator

if TYPE_CHECKING:  # the account entity, as the auth module hands it over
    from hotgigs.models import User

log = structlog.get_logger(__name__)

INVITATION_DAYS = 14
INVITED = ("If that account can join a company, it has been invited; it becomes a member "
           "when it accepts the invitation")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass(frozen=True, kw_only=True)
class InvitationIn:
    """Whom to invite (an e-mail address or a user id, exactly one) and as what role
    (empty: member)."""

    email: str | None = None
    user_id: int | None = None
    role: str = ""


def invite(session: Session, *, actor: Principal, company_id: int,
           invitation_in: InvitationIn) -> None:
    """Store (or renew) a pending invitation; the same outcome for every address."""
    user_id, email, role = invitation_in.user_id, invitation_in.email, invitation_in.role
    require_member(session, actor=actor, company_id=company_id, admin=True)
    check = Validator()
    member_role = check.choice("role", role or "member", COMPANY_MEMBER_ROLES, required=True)
    address = check.email("email", email, required=False) if email else None
    if (user_id is None) == (address is None):
        check.fail("email", "give either email or user_id")
    check.check("Invitation data is invalid")
    invitee = users_service.find_user(session, email=address) if address is not None \
        else users_service.find_user(session, user_id=user_id)
    if user_id is not None and invitee is None:
        return  # user ids are public; nothing to store for one that does not exist
    if invitee is not None and membership(session, company_id=company_id,
                                          user_id=invitee.id) is not None:
        return  # fellow admins see the member list anyway
    queries.store_invitation(session, company_id=company_id, email=address, user_id=user_id,
                             role=member_role or "member", invited_by=actor.user_id,
                             expires_at=_now() + dt.timedelta(days=INVITATION_DAYS))
    audit_service.record(session, actor_user_id=actor.user_id, action="company.invite",
                         target=f"company:{company_id}",
                         details={"role": member_role or "member",
                                  "invitee": f"user:{user_id}" if user_id is not None else address})
    if invitee is not None and invitee.is_active and invitee.user_type in (COMPANY, RECRUITER):
        company = get_company_or_raise(session, company_id=company_id)
        notifications.notify(session, user_ids=[invitee.id], notification_type="info",
                             title=f"Invitation to join {company.name}",
                             message=f"You are invited to join {company.name} as {member_role}.",
                             action_url="/api/companies/invitations")
    log.info("company_invitation_stored", company_id=company_id)


def list_for_company(session: Session, *, actor: Principal, company_id: int
                     ) -> list[tuple[CompanyInvitation, Company]]:
    """The company's pending invitations (company admins only)."""
    require_member(session, actor=actor, company_id=company_id, admin=True)
    company = get_company_or_raise(session, company_id=company_id)
    return [(row, company) for row in queries.pending_of_company(session, company_id)]


def list_invitations(session: Session, *, actor: Principal
                     ) -> list[tuple[CompanyInvitation, Company]]:
    """The caller's pending invitations (by user id or e-mail address)."""
    user = users_service.find_user(session, user_id=actor.user_id)
    if user is None:
        return []
    return queries.pending_for(session, user_id=user.id, email=user.email)


def accept(session: Session, *, actor: Principal, company_id: int
           ) -> tuple[CompanyMember, User, Company]:
    """The caller joins the company with the invited role; their invitations to it end."""
    user = users_service.find_user(session, user_id=actor.user_id)
    invitation = None if user is None else queries.pending_for_update(
        session, company_id=company_id, user_id=user.id, email=user.email)
    if user is None or invitation is None:
        raise NotFound("You have no pending invitation to this company",
                       reason="INVITATION_NOT_FOUND")
    if user.user_type not in (COMPANY, RECRUITER):
        raise PermissionDenied("Only company and recruiter accounts can join a company",
                               reason="WRONG_ACCOUNT_TYPE")
    member = membership(session, company_id=company_id, user_id=user.id)
    if member is None:
        member = CompanyMember(company_id=company_id, user_id=user.id, role=invitation.role)
        session.add(member)
        audit_service.record(session, actor_user_id=user.id, action="company.member_add",
                             target=f"company:{company_id}",
                             details={"user_id": user.id, "role": invitation.role,
                                      "invited_by": invitation.invited_by, "via": "invitation"})
    queries.delete_invitations(session, company_id=company_id, user_id=user.id, email=user.email)
    session.flush()
    session.refresh(member)  # server defaults (joined at) for the answer
    log.info("company_invitation_accepted", company_id=company_id)
    return member, user, get_company_or_raise(session, company_id=company_id)


def delete(session: Session, *, actor: Principal, company_id: int, invitation_id: int) -> None:
    """A company admin revokes, or the invited user declines; others: NOT_FOUND."""
    invitation = session.get(CompanyInvitation, invitation_id)
    if invitation is None or invitation.company_id != company_id:
        raise NotFound("No such invitation", reason="INVITATION_NOT_FOUND")
    user = users_service.find_user(session, user_id=actor.user_id)
    invited = user is not None and (invitation.user_id == user.id or invitation.email == user.email)
    if not invited:
        try:
            require_member(session, actor=actor, company_id=company_id, admin=True)
        except PermissionDenied:
            raise NotFound("No such invitation", reason="INVITATION_NOT_FOUND") from None
    session.delete(invitation)
    session.flush()
