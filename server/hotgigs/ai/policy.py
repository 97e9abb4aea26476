"""The RPCs of `hotgigs.v1.AiService`: who may call each (`hotgigs.core.rpc`), which
creates are idempotent, and which answer other than 200 over REST."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import CANDIDATE, HIRING, PUBLIC, SIGNED_IN, Rpc, roles, signed_in

SERVICE: Final = "AiService"
RPCS: Final = {
    "MatchJobs": Rpc(SIGNED_IN),
    "AnalyzeResume": Rpc(SIGNED_IN),
    "GetJobRecommendations": Rpc(roles(CANDIDATE)),
    "GetAiHealth": Rpc(PUBLIC),
    "MatchCandidates": Rpc(roles(*HIRING, scope="member of the job's company")),
    "ListAiFeedback": Rpc(signed_in("own history; admins may name a user")),
}
