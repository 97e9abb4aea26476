"""Idempotency keys on creates: a retried request with the same `Idempotency-Key` header (gRPC
metadata `idempotency-key`) gets the first answer again instead of creating a duplicate.

Keys are scoped by caller and method and kept in Redis for 24 h, bound to a SHA-256 of the
request (method and message, which over REST is the path, query and body): the same key with a
different request answers INVALID_ARGUMENT, REST 422, reason IDEMPOTENCY_KEY_REUSED (as the
IETF Idempotency-Key draft and Stripe do) instead of replaying an answer to another request.
While the first request is still running, a repeat answers ABORTED (REST 409) and may be
retried. Only successful answers
are remembered; a failed request releases its key. With Redis down the key is not enforced
(logged), so creates still work.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

import grpc
import redis
import structlog
from google.protobuf import descriptor_pool, message_factory

from hotgigs import context as request_context
from hotgigs.cache import Cache
from hotgigs.errors import DomainError, InvalidArgument
from hotgigs.grpc_server.interceptors import metadata_value

log = structlog.get_logger(__name__)

HEADER = "idempotency-key"
TTL_SECONDS = 24 * 3600
PENDING_SECONDS = 60


class InProgress(DomainError):
    code = 10  # ABORTED
    default_reason = "IDEMPOTENT_REQUEST_IN_PROGRESS"


class KeyReused(DomainError):
    code = 3  # INVALID_ARGUMENT; REST 422 (set_http_status)
    default_reason = "IDEMPOTENCY_KEY_REUSED"


def fingerprint(method: str, request: Any) -> str:
    """SHA-256 of the method and the request message (deterministic serialisation)."""
    digest = hashlib.sha256(method.encode())
    digest.update(b"\0")
    digest.update(request.SerializeToString(deterministic=True))
    return digest.hexdigest()


def _reused() -> KeyReused:
    request_context.set_http_status(422)
    return KeyReused("This Idempotency-Key was already used with a different request; use a new "
                     "key for a new request")


@functools.cache
def _response_class(method: str) -> Any:
    service, name = method.strip("/").split("/")
    output = descriptor_pool.Default().FindServiceByName(service).FindMethodByName(name).output_type
    return message_factory.GetMessageClass(output)


class IdempotencyInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]  # not generic at runtime
    """Wraps the unary create RPCs in `creates` (declared `idempotent` in the modules'
    `policy.py`, collected by `hotgigs.manifest`); everything else passes through untouched."""

    def __init__(self, cache: Cache, creates: Iterable[str]) -> None:
        self.client = cache.state  # never evicted: an evicted record would allow a duplicate
        self.creates = frozenset(creates)

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Any],
                          handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method not in self.creates or handler.unary_unary is None:
            return handler
        behavior = handler.unary_unary
        response_class = _response_class(method)

        def run(request: Any, context: grpc.ServicerContext) -> Any:
            key = metadata_value(context, HEADER)
            principal = request_context.principal()
            if not key or principal is None:
                return behavior(request, context)
            if len(key) > 200:
                raise InvalidArgument("Idempotency-Key is longer than 200 characters")
            digest = hashlib.sha256(f"{principal.user_id}:{method}:{key}".encode()).hexdigest()
            slot = f"hg:idem:{digest}"
            bound_to = fingerprint(method, request)
            try:
                claimed = self.client.set(slot, f"pending:{bound_to}".encode(), nx=True,
                                          ex=PENDING_SECONDS)
                stored = None if claimed else self.client.get(slot)
            except redis.RedisError:
                log.warning("idempotency_not_enforced")
                return behavior(request, context)
            if not claimed:
                text = stored.decode() if isinstance(stored, bytes) else (stored or "")
                if not text or text.startswith("pending"):
                    running = text.partition(":")[2]
                    if running and running != bound_to:
                        raise _reused()
                    raise InProgress("A request with this Idempotency-Key is still running; "
                                     "retry shortly")
                saved = json.loads(text)
                if saved.get("fingerprint", bound_to) != bound_to:
                    raise _reused()
                state = request_context.current()
                if state is not None:
                    state.response_headers.extend((k, v) for k, v in saved["headers"])
                    state.response_headers.append(("idempotent-replay", "true"))
                return response_class.FromString(bytes.fromhex(saved["response"]))
            try:
                response = behavior(request, context)
            except BaseException:
                with contextlib.suppress(redis.RedisError):  # a failed request frees its key
                    self.client.delete(slot)
                raise
            state = request_context.current()
            headers = [list(h) for h in (state.response_headers if state else [])
                       if h[0] == request_context.HTTP_STATUS_HEADER]
            with contextlib.suppress(redis.RedisError):
                self.client.set(slot, json.dumps({"response": response.SerializeToString().hex(),
                                                  "headers": headers, "fingerprint": bound_to}),
                                ex=TTL_SECONDS)
            return response

        return grpc.unary_unary_rpc_method_handler(run, handler.request_deserializer,
                                                   handler.response_serializer)
