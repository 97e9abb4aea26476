"""The RPCs of `hotgigs.v1.JobService`: who may call each (`hotgigs.core.rpc`), which
creates are idempotent, and which answer other than 200 over REST."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import HIRING, PUBLIC, Rpc, created, roles

SERVICE: Final = "JobService"
RPCS: Final = {
    "SearchJobs": Rpc(PUBLIC),
    "GetJob": Rpc(PUBLIC),
    "CreateJob": created(roles(*HIRING, scope="company member"), idempotent=True),
    "UpdateJob": Rpc(roles(*HIRING, scope="company member")),
    "DeleteJob": Rpc(roles(*HIRING, scope="company member")),
    # Applications' data: answered by the applications module (no jobs -> applications import).
    "ListJobApplications": Rpc(roles(*HIRING, scope="company member"), served_by="applications"),
    "GetJobStats": Rpc(PUBLIC),
    "PublishJob": Rpc(roles(*HIRING, scope="company member")),
    "PauseJob": Rpc(roles(*HIRING, scope="company member")),
}
