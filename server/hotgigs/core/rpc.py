"""What a module declares about each of its RPCs: who may call it (`Policy`), whether it is an
idempotent create, and its REST success status. Each module lists its RPCs in its `policy.py`;
`hotgigs.manifest` collects them. Default deny: an RPC without an entry is refused.

Kinds of policy:
  PUBLIC       anyone, no token needed (a token, when sent, is still verified)
  SIGNED_IN    any valid access token
  roles(...)   a valid access token whose role is one of those named (admin passes everywhere
               a role list applies)
`scope` documents the resource-level rule the module's service enforces on top (owner of the
record, member of the company); the interceptor checks only the caller's identity and role.
`rate` picks the rate-limit class: default (per user, or per address when anonymous; per
service account for API keys), auth (tighter, per client address) or exempt.
`keys` says whether a service account's API key may call the RPC at all (then its scopes
decide, `hotgigs.manifest.KEY_SCOPES`); sign-in flows and key management say no.
"""

from __future__ import annotations

import dataclasses
from typing import Final

CANDIDATE, COMPANY, RECRUITER, ADMIN = "candidate", "company", "recruiter", "admin"
ROLES: Final = (CANDIDATE, COMPANY, RECRUITER, ADMIN)
ROLE_ALIASES: Final = {"freelance_recruiter": RECRUITER}
SELF_REGISTERABLE_ROLES: Final = (CANDIDATE, COMPANY, RECRUITER)
HIRING: Final = (COMPANY, RECRUITER)
# An RPC whose name starts with one of these only reads: safe to send again (the service
# config retries it) and covered by a service account's `<module>.read` scope.
READ_VERBS: Final = ("Get", "List", "Search", "Download", "Match")


def is_read(rpc_name: str) -> bool:
    """Whether the RPC named `rpc_name` (e.g. `GetJob`) only reads."""
    return rpc_name.startswith(READ_VERBS)


@dataclasses.dataclass(frozen=True)
class Policy:
    """The access rule of one RPC."""

    public: bool = False
    roles: frozenset[str] | None = None  # None: any signed-in user
    scope: str = ""
    rate: str = "default"
    bearer: str = "access"  # the kind of token the Authorization header carries
    keys: bool = True  # service-account API keys may call it (if their scopes cover it)

    def allows_role(self, role: str) -> bool:
        return self.roles is None or role in self.roles or role == ADMIN


PUBLIC: Final = Policy(public=True)
SIGNED_IN: Final = Policy()
AUTH_FLOW: Final = Policy(public=True, rate="auth")
PROBE: Final = Policy(public=True, rate="exempt")


def roles(*names: str, scope: str = "") -> Policy:
    unknown = set(names) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return Policy(roles=frozenset(names), scope=scope)


def signed_in(scope: str) -> Policy:
    return Policy(scope=scope)


def no_keys(policy: Policy) -> Policy:
    """`policy`, refusing service-account API keys."""
    return dataclasses.replace(policy, keys=False)


@dataclasses.dataclass(frozen=True)
class Cached:
    """An RPC whose answers are kept in Redis (`hotgigs.grpc_server.response_cache`)."""

    name: str  # the `cache` label of hotgigs_cache_requests_total
    prefix: str  # Redis key prefix
    ttl_seconds: int
    per_caller: bool = False  # one answer per signed-in user and role
    generation: str = ""  # Redis key of the group's generation, bumped by `invalidates`
    traffic: bool = False  # counted in the recent-traffic summary (GetMetrics for admins)
    # "module:function" mapping a request to (prefix, suffix) of a value kept under the same
    # generation at prefix + <generation> + ":" + suffix (or None), read in the look-up's round
    # trip for the handler (`RequestContext.prefetched`; e.g. the search's total)
    companion: str = ""


@dataclasses.dataclass(frozen=True)
class Rpc:
    """One RPC of a module: its policy, whether a retried request with the same
    Idempotency-Key replays the first answer (`idempotent`, creates only), the HTTP status
    of a successful answer over REST (`rest_status`; the protos' 200 unless said), and the
    module whose servicer answers it when its data belongs there (`served_by`; a method of the
    same name on that module's servicer), so the service's own module need not import it;
    `cached` keeps its answers in Redis, `invalidates` bumps cached groups after a change."""

    policy: Policy
    idempotent: bool = False
    rest_status: int = 200
    served_by: str = ""
    cached: Cached | None = None  # answers kept in Redis
    invalidates: tuple[str, ...] = ()  # generations (Cached.generation) bumped on success


def created(policy: Policy, *, idempotent: bool = False, invalidates: tuple[str, ...] = ()) -> Rpc:
    """A create RPC: REST answers 201 Created."""
    return Rpc(policy, idempotent=idempotent, rest_status=201, invalidates=invalidates)
