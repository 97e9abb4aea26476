"""The RPCs of `hotgigs.v1.ApplicationService`: who may call each (`hotgigs.core.rpc`), which
creates are idempotent, and which answer other than 200 over REST."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import CANDIDATE, HIRING, SIGNED_IN, Rpc, created, roles, signed_in

SERVICE: Final = "ApplicationService"
RPCS: Final = {
    "CreateApplication": created(roles(CANDIDATE), idempotent=True),
    "ListApplications": Rpc(signed_in("own applications, or those to the caller's companies")),
    "GetApplication": Rpc(signed_in("the candidate, or a member of the job's company")),
    "UpdateApplication": Rpc(roles(*HIRING, scope="member of the job's company")),
    "WithdrawApplication": Rpc(roles(CANDIDATE, scope="the candidate")),
    "ListApplicationsByJob": Rpc(roles(*HIRING, scope="member of the job's company")),
    "GetApplicationStats": Rpc(SIGNED_IN),
}
