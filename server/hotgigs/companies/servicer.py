"""`hotgigs.v1.CompanyService`: protobuf in, companies service, protobuf out."""

from __future__ import annotations

import grpc

from hotgigs.companies import convert, invitations, service
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.v1 import companies_pb2, companies_pb2_grpc


class CompanyServicer(companies_pb2_grpc.CompanyServiceServicer):
    """Thin transport layer over `hotgigs.companies.service`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def CreateCompany(self, request: companies_pb2.CreateCompanyRequest,
                      context: grpc.ServicerContext) -> companies_pb2.CreateCompanyResponse:
        with self.database.session_scope() as session:
            company = service.create(session, actor=caller(),
                                     company_in=convert.company_in(request))
            response = companies_pb2.CreateCompanyResponse(
                message="Company created successfully", company=convert.company_to_proto(company))
        return response

    def ListCompanies(self, request: companies_pb2.ListCompaniesRequest,
                      context: grpc.ServicerContext) -> companies_pb2.ListCompaniesResponse:
        with self.database.read_connection() as connection:
            companies = service.list_companies(connection, actor=caller())
        return companies_pb2.ListCompaniesResponse(
            companies=[convert.company_to_proto(row) for row in companies])

    def GetCompany(self, request: companies_pb2.GetCompanyRequest,
                   context: grpc.ServicerContext) -> companies_pb2.GetCompanyResponse:
        with self.database.session_scope() as session:
            company = service.get(session, actor=caller(), company_id=request.id)
            return companies_pb2.GetCompanyResponse(company=convert.company_to_proto(company))

    def ListCompanyMembers(self, request: companies_pb2.ListCompanyMembersRequest,
                           context: grpc.ServicerContext
                           ) -> companies_pb2.ListCompanyMembersResponse:
        with self.database.session_scope() as session:
            members = service.list_members(session, actor=caller(), company_id=request.id)
            return companies_pb2.ListCompanyMembersResponse(
                members=[convert.member_to_proto(m, u) for m, u in members])

    def UpdateCompany(self, request: companies_pb2.UpdateCompanyRequest,
                      context: grpc.ServicerContext) -> companies_pb2.UpdateCompanyResponse:
        with self.database.session_scope() as session:
            company = service.update(session, actor=caller(), company_id=request.id,
                                     update_in=convert.company_update_in(request))
            return companies_pb2.UpdateCompanyResponse(
                message="Company updated successfully", company=convert.company_to_proto(company))

    def AddCompanyMember(self, request: companies_pb2.AddCompanyMemberRequest,
                         context: grpc.ServicerContext) -> companies_pb2.AddCompanyMemberResponse:
        """Invites (REST 202); the same answer whatever the address (`invitations.invite`)."""
        with self.database.session_scope() as session:
            invitations.invite(session, actor=caller(), company_id=request.id,
                               invitation_in=convert.invitation_in(request))
        return companies_pb2.AddCompanyMemberResponse(message=invitations.INVITED)

    def ListCompanyInvitations(self, request: companies_pb2.ListCompanyInvitationsRequest,
                               context: grpc.ServicerContext
                               ) -> companies_pb2.ListCompanyInvitationsResponse:
        with self.database.session_scope() as session:
            rows = invitations.list_for_company(session, actor=caller(), company_id=request.id)
            return companies_pb2.ListCompanyInvitationsResponse(
                invitations=[convert.invitation_to_proto(i, c) for i, c in rows])

    def DeleteCompanyInvitation(self, request: companies_pb2.DeleteCompanyInvitationRequest,
                                context: grpc.ServicerContext
                                ) -> companies_pb2.DeleteCompanyInvitationResponse:
        with self.database.session_scope() as session:
            invitations.delete(session, actor=caller(), company_id=request.company_id,
                               invitation_id=request.invitation_id)
        return companies_pb2.DeleteCompanyInvitationResponse(message="Invitation withdrawn")

    def ListMyInvitations(self, request: companies_pb2.ListMyInvitationsRequest,
                          context: grpc.ServicerContext
                          ) -> companies_pb2.ListMyInvitationsResponse:
        with self.database.session_scope() as session:
            rows = invitations.list_invitations(session, actor=caller())
            return companies_pb2.ListMyInvitationsResponse(
                invitations=[convert.invitation_to_proto(i, c) for i, c in rows])

    def AcceptCompanyInvitation(self, request: companies_pb2.AcceptCompanyInvitationRequest,
                                context: grpc.ServicerContext
                                ) -> companies_pb2.AcceptCompanyInvitationResponse:
        with self.database.session_scope() as session:
            member, user, company = invitations.accept(session, actor=caller(),
                                                       company_id=request.id)
            return companies_pb2.AcceptCompanyInvitationResponse(
                message=f"You joined {company.name}", member=convert.member_to_proto(member, user))

    def RemoveCompanyMember(self, request: companies_pb2.RemoveCompanyMemberRequest,
                            context: grpc.ServicerContext
                            ) -> companies_pb2.RemoveCompanyMemberResponse:
        with self.database.session_scope() as session:
            service.remove_member(session, actor=caller(), company_id=request.company_id,
                                  user_id=request.user_id)
        return companies_pb2.RemoveCompanyMemberResponse(message="Member removed successfully")


def build(components: Components) -> CompanyServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return CompanyServicer(components.database)
