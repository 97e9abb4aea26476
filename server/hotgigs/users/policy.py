"""The RPCs of `hotgigs.v1.UserService`: who may call each (`hotgigs.core.rpc`), which
creates are idempotent, and which answer other than 200 over REST."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import CANDIDATE, PUBLIC, SIGNED_IN, Rpc, created, roles, signed_in

SERVICE: Final = "UserService"
RPCS: Final = {
    "GetProfile": Rpc(signed_in("own account")),
    "UpdateProfile": Rpc(signed_in("own account")),
    "UpdateCandidateProfile": Rpc(roles(CANDIDATE, scope="own profile")),
    "AddExperience": created(roles(CANDIDATE, scope="own profile")),
    "UpdateExperience": Rpc(roles(CANDIDATE, scope="owner of the entry")),
    "DeleteExperience": Rpc(roles(CANDIDATE, scope="owner of the entry")),
    "AddEducation": created(roles(CANDIDATE, scope="own profile")),
    "UpdateEducation": Rpc(roles(CANDIDATE, scope="owner of the entry")),
    "DeleteEducation": Rpc(roles(CANDIDATE, scope="owner of the entry")),
    "SearchUsers": Rpc(SIGNED_IN),
    "GetUser": Rpc(PUBLIC),
}
