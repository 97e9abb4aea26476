"""Pure conversions between companies-module models and protobuf messages."""

from __future__ import annotations

from typing import Any

from hotgigs.companies.invitations import InvitationIn
from hotgigs.companies.service import CompanyIn, CompanyUpdateIn
from hotgigs.core.protos import all_fields, optional, set_fields, timestamp
from hotgigs.models import Company, CompanyInvitation, CompanyMember, User
from hotgigs.v1 import common_pb2, companies_pb2


def company_to_proto(company: Company | Any) -> companies_pb2.Company:
    """An entity, or a row of the company's columns (the list's hot read)."""
    message = companies_pb2.Company(
        id=company.id, name=company.name, description=company.description or "",
        industry=company.industry or "", company_size=company.company_size or "",
        website=company.website or "", location=company.location or "",
        logo_url=company.logo_url or "", created_by=company.created_by or 0,
        created_at=timestamp(company.created_at), updated_at=timestamp(company.updated_at))
    if company.founded_year is not None:
        message.founded_year = company.founded_year
    return message


def company_summary(company: Company) -> common_pb2.CompanySummary:
    return common_pb2.CompanySummary(id=company.id, name=company.name,
                                     logo_url=company.logo_url or "",
                                     industry=company.industry or "",
                                     location=company.location or "",
                                     company_size=company.company_size or "")


def member_to_proto(member: CompanyMember, user: User) -> companies_pb2.CompanyMember:
    """Fellow members see each other's e-mail."""
    return companies_pb2.CompanyMember(
        user=common_pb2.UserSummary(id=user.id, first_name=user.first_name,
                                    last_name=user.last_name, user_type=user.user_type,
                                    profile_image_url=user.profile_image_url or "",
                                    email=user.email),
        company_id=member.company_id, role=member.role, joined_at=timestamp(member.created_at))


def invitation_to_proto(invitation: CompanyInvitation, company: Company
                        ) -> companies_pb2.CompanyInvitation:
    message = companies_pb2.CompanyInvitation(
        id=invitation.id, company_id=invitation.company_id, company_name=company.name,
        email=invitation.email or "", role=invitation.role,
        invited_at=timestamp(invitation.created_at), expires_at=timestamp(invitation.expires_at))
    if invitation.user_id is not None:
        message.user_id = invitation.user_id
    return message


_FIELDS = ("name", "description", "industry", "company_size", "website", "location",
           "founded_year", "logo_url")


def company_in(request: companies_pb2.CreateCompanyRequest) -> CompanyIn:
    """The fields of a create request (the `optional` ones only when present)."""
    return CompanyIn(**all_fields(request))


def company_update_in(request: companies_pb2.UpdateCompanyRequest) -> CompanyUpdateIn:
    """The changes an update request carries: present fields and clear_fields."""
    return CompanyUpdateIn(**set_fields(request, _FIELDS), clear=tuple(request.clear_fields))


def invitation_in(request: companies_pb2.AddCompanyMemberRequest) -> InvitationIn:
    return InvitationIn(email=optional(request, "email"), user_id=optional(request, "user_id"),
                        role=request.role)
