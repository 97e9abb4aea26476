"""The RPCs of `hotgigs.v1.CompanyService`: who may call each (`hotgigs.core.rpc`), which
creates are idempotent, and which answer other than 200 over REST."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import HIRING, Rpc, created, roles

SERVICE: Final = "CompanyService"
RPCS: Final = {
    "CreateCompany": created(roles(*HIRING), idempotent=True),
    "ListCompanies": Rpc(roles(*HIRING, scope="companies the caller is a member of")),
    "GetCompany": Rpc(roles(*HIRING, scope="company member")),
    "ListCompanyMembers": Rpc(roles(*HIRING, scope="company member")),
    "UpdateCompany": Rpc(roles(*HIRING, scope="company admin")),
    "AddCompanyMember": Rpc(roles(*HIRING, scope="company admin"), rest_status=202),
    "RemoveCompanyMember": Rpc(roles(*HIRING, scope="company admin")),
    "ListCompanyInvitations": Rpc(roles(*HIRING, scope="company admin")),
    "DeleteCompanyInvitation": Rpc(roles(*HIRING, scope="company admin or the invited user")),
    "ListMyInvitations": Rpc(roles(*HIRING)),
    "AcceptCompanyInvitation": Rpc(roles(*HIRING, scope="the invited user")),
}
