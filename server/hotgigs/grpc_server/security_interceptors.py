"""Authentication (bearer JWT or a service account's API key, then the policy table) and rate
limiting, as interceptors.

Both run for REST calls through Envoy and for native gRPC callers alike. They raise domain
errors; the error interceptor outside them turns those into statuses.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import grpc
import structlog

from hotgigs import context as request_context
from hotgigs import manifest
from hotgigs.errors import PermissionDenied, ResourceExhausted, Unauthenticated
from hotgigs.grpc_server.interceptors import AroundInterceptor, metadata_value
from hotgigs.security import policy as access
from hotgigs.security.access import AccessState
from hotgigs.security.api_keys import ApiKeys, api_key
from hotgigs.security.ratelimit import Also, RateLimiter
from hotgigs.security.tokens import ACCESS, TokenService, bearer_token
from hotgigs.telemetry import metrics

log = structlog.get_logger(__name__)

PROXY_SECRET_HEADER = "x-hotgigs-proxy-secret"  # noqa: S105 - a header name, not a secret
CLIENT_ADDRESS_HEADER = "x-hotgigs-client-address"
API_KEY_HEADER = "x-api-key"


def credentials(context: grpc.ServicerContext) -> tuple[str | None, str | None]:
    """The first `authorization` and `x-api-key` metadata values, in one pass."""
    authorization = key = None
    for name, value in context.invocation_metadata() or ():
        if name == "authorization":
            if authorization is None and isinstance(value, str):
                authorization = value
        elif name == API_KEY_HEADER and key is None and isinstance(value, str):
            key = value
    return authorization, key


def client_address(context: grpc.ServicerContext, proxy_secret: str) -> str:
    """The caller's address: from our proxy's header when the request carries the proxy's
    secret, otherwise the TCP peer (so a direct caller cannot pick its own address)."""
    if proxy_secret:
        presented = metadata_value(context, PROXY_SECRET_HEADER) or ""
        forwarded = metadata_value(context, CLIENT_ADDRESS_HEADER)
        if forwarded and hmac.compare_digest(presented.encode(), proxy_secret.encode()):
            return forwarded[:64]
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        host = rest.rsplit(":", 1)[0]
        return host.strip("[]")
    return peer or "unknown"


class AuthInterceptor(AroundInterceptor):
    """Verifies the bearer token or API key and applies the RPC's policy (no policy: denied).

    An API key (`x-api-key: <key>` or `authorization: ApiKey <key>`) acts as its account's
    owner, and only where the policy lets keys in and the account's scopes cover the method
    (`hotgigs.manifest.KEY_SCOPES`); infrastructure services (health, reflection) take any
    valid key."""

    def __init__(self, tokens: TokenService, state: AccessState, proxy_secret: str,
                 extra_policies: Mapping[str, access.Policy] | None = None, *,
                 keys: ApiKeys) -> None:
        self.tokens = tokens
        self.state = state
        self.proxy_secret = proxy_secret
        self.extra_policies = dict(extra_policies or {})
        self.keys = keys

    @contextlib.contextmanager
    def around(self, method: str, context: grpc.ServicerContext,
               streaming_response: bool) -> Iterator[None]:
        state = request_context.current()
        policy = access.policy_for(method, self.extra_policies)
        if state is not None:
            state.client_address = client_address(context, self.proxy_secret)
        if policy is None:
            log.warning("rpc_without_policy_denied")
            raise PermissionDenied("This method is not open to callers", reason="NO_POLICY")
        authorization, x_api_key = credentials(context)
        token = bearer_token(authorization)
        key = api_key(authorization, x_api_key)
        if key is not None:
            if token is not None:
                raise Unauthenticated("Send one credential: a bearer token or an API key",
                                      reason="CREDENTIALS_AMBIGUOUS")
            principal = self._verify_key(method, policy, key)
        elif token is not None and policy.bearer == ACCESS:
            principal = self._verify(token)
        else:
            if not policy.public:
                raise Unauthenticated("Sign in first: send Authorization: Bearer <access token>",
                                      reason="TOKEN_MISSING")
            yield
            return
        if state is not None:
            state.principal = principal
        structlog.contextvars.bind_contextvars(user_id=principal.user_id)
        if principal.service_account_id is not None:
            structlog.contextvars.bind_contextvars(service_account_id=principal.service_account_id)
        if not policy.allows_role(principal.role):
            raise PermissionDenied("Your role may not call this method", reason="ROLE_FORBIDDEN")
        yield

    def _verify(self, token: str) -> request_context.Principal:
        claims = self.tokens.decode(token, kind=ACCESS)
        self.state.check(claims.user_id, claims.session_id)  # active user, live session (<= 5 s)
        return request_context.Principal(user_id=claims.user_id, role=claims.role,
                                         session_id=claims.session_id, token_id=claims.token_id)

    def _verify_key(self, method: str, policy: access.Policy, key: str) -> request_context.Principal:
        principal, scopes = self.keys.authenticate(key)  # 401 for a bad, revoked or expired key
        if policy.public and method not in access.POLICIES:
            return principal  # health checks and reflection
        if not policy.keys:
            raise PermissionDenied("API keys may not call this method", reason="API_KEY_NOT_ALLOWED")
        covering = manifest.KEY_SCOPES.get(method)
        if covering is None or covering.isdisjoint(scopes):
            raise PermissionDenied("This API key's scopes do not cover this method",
                                   reason="SCOPE_MISSING")
        return principal


class RateLimitInterceptor(AroundInterceptor):
    """Counts each call against its policy's rate class; over the limit: RESOURCE_EXHAUSTED
    with RetryInfo and a `retry-after` header (REST: 429 with Retry-After).

    For the methods in `counted_with_lookup` (those with cached answers) the count is left to
    the answer cache, further in, as `RequestContext.count_call`: it runs before the look-up,
    in the same Redis round trip, and a call over the limit is refused whatever the cache
    holds."""

    def __init__(self, limiter: RateLimiter,
                 extra_policies: Mapping[str, access.Policy] | None = None,
                 counted_with_lookup: Collection[str] = ()) -> None:
        self.limiter = limiter
        self.extra_policies = dict(extra_policies or {})
        self.counted_with_lookup = frozenset(counted_with_lookup)

    @contextlib.contextmanager
    def around(self, method: str, context: grpc.ServicerContext,
               streaming_response: bool) -> Iterator[None]:
        policy = access.policy_for(method, self.extra_policies)
        state = request_context.current()
        if policy is not None and policy.rate != "exempt" and state is not None:
            rate_class, principal = policy.rate, state.principal
            if rate_class == "default" and principal is not None:
                if principal.service_account_id is not None:  # all of the account's keys
                    rate_class, identity = "service", f"sa:{principal.service_account_id}"
                else:
                    identity = f"user:{principal.user_id}"
            else:
                identity = f"addr:{state.client_address}"
            count = functools.partial(self._count, rate_class, identity)
            if method in self.counted_with_lookup:
                state.count_call = count
            else:
                count(None)
        yield

    def _count(self, rate_class: str, identity: str, also: Also | None) -> list[Any] | None:
        decision = self.limiter.hit(rate_class, identity, also=also)
        if not decision.allowed:
            metrics.RATE_LIMITED.labels(rate_class).inc()
            raise ResourceExhausted(
                f"Too many requests; retry in {decision.retry_after_seconds} s",
                retry_after_seconds=decision.retry_after_seconds)
        return decision.replies
