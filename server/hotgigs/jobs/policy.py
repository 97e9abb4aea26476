"""The RPCs of `hotgigs.v1.JobService`: who may call each (`hotgigs.core.rpc`), which
creates are idempotent, which answer other than 200 over REST, and the search answer cache."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import HIRING, PROBE, PUBLIC, Cached, Rpc, created, roles

# Public search answers, keyed by every parameter of the request; any change to a job bumps
# the generation (after its transaction commits), so the next search sees it at once.
# The search's total (`jobs.totals`) is read in the same look-up (`companion`).
SEARCH_CACHE: Final = Cached(name="job_search", prefix="hg:jobsearch:", ttl_seconds=60,
                             generation="hg:jobsearch:generation", traffic=True,
                             companion="hotgigs.jobs.servicer:search_total_key")
CHANGES: Final = (SEARCH_CACHE.generation,)
MEMBER: Final = roles(*HIRING, scope="company member")

SERVICE: Final = "JobService"
RPCS: Final = {
    "SearchJobs": Rpc(PUBLIC, cached=SEARCH_CACHE),
    "GetJob": Rpc(PUBLIC),
    "CreateJob": created(MEMBER, idempotent=True, invalidates=CHANGES),
    "UpdateJob": Rpc(MEMBER, invalidates=CHANGES),
    "DeleteJob": Rpc(MEMBER, invalidates=CHANGES),
    # Applications' data: answered by the applications module (no jobs -> applications import).
    "ListJobApplications": Rpc(MEMBER, served_by="applications"),
    "GetJobStats": Rpc(PUBLIC),
    "PublishJob": Rpc(MEMBER, invalidates=CHANGES),
    "PauseJob": Rpc(MEMBER, invalidates=CHANGES),
    # grpc.health.v1 status of this service: answered by the health module.
    "GetJobsHealth": Rpc(PROBE, served_by="health"),
}
