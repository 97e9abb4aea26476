"""Per-RPC context: the request id and the response headers a servicer wants to add.

The request-context interceptor creates one `RequestContext` per RPC and clears it afterwards;
code below it reads it with `current()`.
"""

from __future__ import annotations

import contextvars
import dataclasses
import time
from collections.abc import Callable
from typing import Any

_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "hotgigs_request_context", default=None
)

HTTP_STATUS_HEADER = "x-http-status"
"""Response metadata that Envoy's Lua filter turns into the REST status code (e.g. 201, 503)."""


@dataclasses.dataclass(frozen=True)
class Principal:
    """The signed-in caller, from a verified access token, or a service account's API key
    acting as its owner (`service_account_id` set, `session_id` empty)."""

    user_id: int
    role: str  # candidate, company, recruiter or admin
    session_id: str
    token_id: str
    service_account_id: int | None = None


@dataclasses.dataclass
class RequestContext:
    """What one RPC carries besides its message."""

    request_id: str
    method: str
    response_headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    client_address: str = ""
    principal: Principal | None = None
    # time.monotonic() by which the caller stops waiting (gRPC deadline), or None
    deadline: float | None = None
    # the DB-API connection running this RPC's current SQL statement (to cancel it when the
    # caller gives up), or None between statements
    running_query: Any = None
    # sends the response headers (request id included) if not sent yet: a streaming response
    # calls it with its first message, so an error before it is a plain status (REST 401)
    send_headers: Callable[[], None] | None = None
    # the rate limit's count of this call when the answer cache makes it (the count and the
    # cache look-up share one Redis round trip): called with the look-up's commands, it raises
    # RESOURCE_EXHAUSTED over the limit and returns their replies (None: Redis unreachable)
    count_call: Callable[[Any], list[Any] | None] | None = None
    # the least replay position (WAL bytes) vouched for this RPC's reads on the read replica,
    # or None when every read ran on the primary (hotgigs.replica.generations)
    replica_lsn: int | None = None
    # values the answer cache read for the handler in its look-up's round trip, by (prefix,
    # suffix) of their `Cached.companion` key (hotgigs.replica.generations.Found)
    prefetched: dict[tuple[str, str], Any] = dataclasses.field(default_factory=dict)
    # (request, its validated form) when already made in this RPC (the answer cache's
    # companion validates the request before the handler does; the handler reuses it)
    parsed: tuple[Any, Any] | None = None
    # SETs (key, value, TTL seconds) on the cache instance that the answer cache sends with the
    # answer it stores, in one round trip; None outside a cached RPC's handler (write at once)
    cache_writes: list[tuple[str, bytes | int, int]] | None = None

    def time_remaining(self) -> float | None:
        """Seconds until the deadline (negative once passed), or None without a deadline."""
        return None if self.deadline is None else self.deadline - time.monotonic()


def current() -> RequestContext | None:
    return _current.get()


def activate(context: RequestContext | None) -> contextvars.Token[RequestContext | None]:
    return _current.set(context)


def reset(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)


def set_http_status(status: int) -> None:
    """Ask the REST bridge to answer with `status` (e.g. 201 Created) instead of 200."""
    context = current()
    if context is not None:
        context.response_headers.append((HTTP_STATUS_HEADER, str(status)))


def add_response_header(name: str, value: str) -> None:
    """Send `name: value` back with the response (gRPC initial metadata, REST header)."""
    context = current()
    if context is not None:
        context.response_headers.append((name, value))


def principal() -> Principal | None:
    """The signed-in caller of the current RPC, if any."""
    context = current()
    return None if context is None else context.principal


def require_principal() -> Principal:
    """The signed-in caller; Unauthenticated when there is none (the auth interceptor normally
    refuses such calls before they reach a servicer)."""
    from hotgigs.errors import Unauthenticated

    caller = principal()
    if caller is None:
        raise Unauthenticated("Sign in first", reason="TOKEN_MISSING")
    return caller
