"""The RPCs of `hotgigs.v1.CandidateService`: who may call each (`hotgigs.core.rpc`), which
creates are idempotent, and which answer other than 200 over REST."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import CANDIDATE, HIRING, PROBE, Rpc, roles

SERVICE: Final = "CandidateService"
RPCS: Final = {
    "SearchCandidates": Rpc(roles(*HIRING)),
    "GetCandidate": Rpc(roles(*HIRING, CANDIDATE, scope="public profiles, or the candidate")),
    "GetMyCandidateProfile": Rpc(roles(CANDIDATE)),
    "UpdateMyCandidateProfile": Rpc(roles(CANDIDATE)),
    "GetCandidateStats": Rpc(roles(*HIRING)),
    # grpc.health.v1 status of this service: answered by the health module.
    "GetCandidatesHealth": Rpc(PROBE, served_by="health"),
}
