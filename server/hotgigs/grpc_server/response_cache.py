"""Cached answers in Redis, declared per RPC in the module's `policy.py` (`Rpc(cached=...)`,
`Rpc(invalidates=...)`, collected by `hotgigs.manifest`) instead of kept by servicers.

A cached RPC's answer is stored under its prefix, the caller (when `per_caller`), the current
generation of its group (when it has one) and a SHA-256 of the request's deterministic
serialisation, for `ttl_seconds`. An RPC that `invalidates` a group bumps the group's
generation after it succeeded (its transaction has committed by then), so the next look-up
misses and sees the change at once. A look-up is one Lua script (it reads the generation and
the answer), sent in the same round trip as the rate limit's count of the call
(`RequestContext.count_call`). With Redis down the cache is skipped: answers are recomputed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import grpc
import redis
import structlog
from google.protobuf import descriptor_pool, message_factory

from hotgigs import context as request_context
from hotgigs.cache import Cache
from hotgigs.core.rpc import Cached, Rpc
from hotgigs.telemetry import metrics
from hotgigs.telemetry.recent import TRAFFIC

log = structlog.get_logger(__name__)

# One round trip for a look-up: read the generation, build the key from it, GET the answer.
_LOOKUP = """
local generation = ''
if KEYS[1] ~= '' then generation = (redis.call('GET', KEYS[1]) or '0') .. ':' end
local key = ARGV[1] .. generation .. ARGV[2]
return {key, redis.call('GET', key)}
"""


class AnswerCache:
    """Look-up, store and invalidate answers of one `Cached` declaration."""

    def __init__(self, cache: Cache, declared: Cached) -> None:
        self.client = cache.client
        self.declared = declared
        self._lookup = self.client.register_script(_LOOKUP)

    def lookup(self, request_bytes: bytes, caller: str = "",
               count_call: Callable[[Any], list[Any] | None] | None = None
               ) -> tuple[str | None, bytes | None]:
        """(key to store the answer under, the cached answer or None); the generation is read
        before the database is queried. (None, None): Redis is unavailable, do not cache.
        With `count_call` (the rate limit's count of this call) the look-up rides in the
        count's round trip; a call over the limit raises from it."""
        digest = hashlib.sha256(request_bytes).hexdigest()
        keys = [self.declared.generation or ""]
        args = [self.declared.prefix, f"{caller}:{digest}" if caller else digest]
        if count_call is None:
            try:
                reply = self._lookup(keys=keys, args=args)
            except redis.RedisError:
                return None, None
        else:
            # EVALSHA, not a Script in the pipeline: redis-py would spend a SCRIPT EXISTS
            # round trip on every execute; the script is loaded once (__init__, NOSCRIPT below).
            replies = count_call(lambda pipe: pipe.evalsha(self._lookup.sha, 1, *keys, *args))
            if replies is None:
                return None, None
            reply = replies[0]
            if isinstance(reply, redis.exceptions.NoScriptError):  # Redis restarted: load it
                try:
                    reply = self._lookup(keys=keys, args=args)
                except redis.RedisError:
                    return None, None
            elif isinstance(reply, Exception):
                return None, None
        key, value = reply
        return key.decode() if isinstance(key, bytes) else str(key), \
            value if isinstance(value, bytes) else None

    def put(self, key: str, payload: bytes) -> None:
        try:
            self.client.set(key, payload, ex=self.declared.ttl_seconds)
        except redis.RedisError:
            log.warning("answer_cache_write_failed", cache=self.declared.name)


def invalidate(cache: Cache, generation: str) -> None:
    """Bump a group's generation (after the change has committed)."""
    try:
        cache.client.incr(generation)
    except redis.RedisError:
        log.warning("answer_cache_not_invalidated", generation=generation)


def _response_class(method: str) -> Any:
    service, name = method.strip("/").split("/")
    output = descriptor_pool.Default().FindServiceByName(service).FindMethodByName(name).output_type
    return message_factory.GetMessageClass(output)


class ResponseCacheInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]  # not generic at runtime
    """Serves and stores the answers of cached unary RPCs; bumps generations after the RPCs
    that invalidate them. Everything else passes through untouched."""

    def __init__(self, cache: Cache, rpcs: Mapping[str, Rpc]) -> None:
        self.cache = cache
        self.cached = {method: AnswerCache(cache, rpc.cached) for method, rpc in rpcs.items()
                       if rpc.cached is not None}
        self.invalidates = {method: rpc.invalidates for method, rpc in rpcs.items()
                            if rpc.invalidates}

    @staticmethod
    def serves(rpcs: Mapping[str, Rpc]) -> frozenset[str]:
        """The methods whose answers it caches (and whose rate-limit count it makes)."""
        return frozenset(method for method, rpc in rpcs.items() if rpc.cached is not None)

    def intercept_service(self, continuation: Callable[[grpc.HandlerCallDetails], Any],
                          handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or handler.unary_unary is None:
            return handler
        answers = self.cached.get(method)
        groups = self.invalidates.get(method, ())
        if answers is None and not groups:
            return handler
        behavior = handler.unary_unary
        response_class: Any = _response_class(method) if answers is not None else None

        def run(request: Any, context: grpc.ServicerContext) -> Any:
            if answers is None:
                response = behavior(request, context)
                for generation in groups:
                    invalidate(self.cache, generation)
                return response
            declared = answers.declared
            caller = ""
            if declared.per_caller:
                principal = request_context.require_principal()
                caller = f"{principal.user_id}:{principal.role}"
            state = request_context.current()
            count_call = None if state is None else state.count_call
            if state is not None:
                state.count_call = None
            key, cached = answers.lookup(request.SerializeToString(deterministic=True), caller,
                                         count_call)
            if key is not None:
                if declared.traffic:
                    TRAFFIC.cache(hit=cached is not None)
                metrics.CACHE_REQUESTS.labels(declared.name, "hit" if cached else "miss").inc()
                if cached is not None:
                    return response_class.FromString(cached)
            response = behavior(request, context)
            if key is not None:
                answers.put(key, response.SerializeToString())
            return response

        return grpc.unary_unary_rpc_method_handler(run, handler.request_deserializer,
                                                   handler.response_serializer)
