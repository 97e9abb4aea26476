"""The RPCs of `hotgigs.v1.PrivacyService`: each person their own data, admins anyone's; never
with an API key (a key acts as its owner, and must not carry away or erase the owner)."""

from __future__ import annotations

import dataclasses
from typing import Final

from hotgigs.core.rpc import ADMIN, Rpc, no_keys, roles, signed_in

ADMINS: Final = no_keys(roles(ADMIN, scope="any user"))
OWN: Final = no_keys(signed_in("the caller's own data"))

SERVICE: Final = "PrivacyService"
RPCS: Final = {
    "ExportMyData": Rpc(OWN),
    "ExportUserData": Rpc(ADMINS),
    # a password check (argon2): the sign-in flows' tighter rate limit per client address
    "EraseMyData": Rpc(dataclasses.replace(OWN, rate="auth")),
    "EraseUserData": Rpc(ADMINS),
}
