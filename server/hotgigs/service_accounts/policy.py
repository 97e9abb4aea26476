"""The RPCs of `hotgigs.v1.ServiceAccountService`: admins only, and never with an API key
(no key mints or revokes keys)."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import ADMIN, Rpc, created, no_keys, roles

ADMINS: Final = no_keys(roles(ADMIN, scope="any service account"))

SERVICE: Final = "ServiceAccountService"
RPCS: Final = {
    "CreateServiceAccount": created(ADMINS),
    "ListServiceAccounts": Rpc(ADMINS),
    "RotateServiceAccountKey": created(ADMINS),
    "RevokeServiceAccountKey": Rpc(ADMINS),
}
