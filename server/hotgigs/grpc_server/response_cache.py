"""Cached answers in Redis, declared per RPC in the module's `policy.py` (`Rpc(cached=...)`,
`Rpc(invalidates=...)`, collected by `hotgigs.manifest`) instead of kept by servicers.

A cached RPC's answer is stored under its prefix, the caller (when `per_caller`), the current
generation of its group (when it has one) and a SHA-256 of the request's deterministic
serialisation, for `ttl_seconds`. An RPC that `invalidates` a group bumps the group's
generation after it succeeded (its transaction has committed by then), so the next look-up
misses and sees the change at once. A look-up is one Lua script (it reads the generation and
the answer), sent in the same round trip as the rate limit's count of the call
(`RequestContext.count_call`). With Redis down the cache is skipped: answers are recomputed.

With a read replica (DATABASE_REPLICA_URL) a look-up also reads the primary WAL position its
generation stands for, and an answer read on the replica is stored only when the replica had
replayed that far (`hotgigs.replica.generations`): never a stale answer under a new generation.
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
from hotgigs.replica import generations
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
# The same, plus the WAL position the generation stands for (`hotgigs.replica.generations`).
_LOOKUP_WITH_LSN = """
local generation = ''
local lsn = false
if KEYS[1] ~= '' then
  generation = (redis.call('GET', KEYS[1]) or '0') .. ':'
  lsn = redis.call('GET', KEYS[2])
end
local key = ARGV[1] .. generation .. ARGV[2]
return {key, redis.call('GET', key), lsn}
"""


class AnswerCache:
    """Look-up, store and invalidate answers of one `Cached` declaration."""

    def __init__(self, cache: Cache, declared: Cached, *, track_lsn: bool = False) -> None:
        self.client = cache.client
        self.declared = declared
        self.track_lsn = track_lsn and bool(declared.generation)
        self._lookup = self.client.register_script(_LOOKUP_WITH_LSN if self.track_lsn else _LOOKUP)

    def lookup(self, request_bytes: bytes, caller: str = "",
               count_call: Callable[[Any], list[Any] | None] | None = None
               ) -> tuple[str | None, bytes | None]:
        """(key to store the answer under, the cached answer or None); the generation is read
        before the database is queried. (None, None): Redis is unavailable, do not cache.
        With `count_call` (the rate limit's count of this call) the look-up rides in the
        count's round trip; a call over the limit raises from it. Tracking WAL positions,
        `lookup_with_lsn` also gives the generation's."""
        key, value, _lsn = self.lookup_with_lsn(request_bytes, caller, count_call)
        return key, value

    def lookup_with_lsn(self, request_bytes: bytes, caller: str = "",
                        count_call: Callable[[Any], list[Any] | None] | None = None
                        ) -> tuple[str | None, bytes | None, int | None]:
        """`lookup`, plus the WAL position the generation stands for (None: not tracked or
        unknown; `hotgigs.replica.generations`)."""
        digest = hashlib.sha256(request_bytes).hexdigest()
        keys = [self.declared.generation or ""]
        if self.track_lsn:
            keys.append(generations.lsn_key(self.declared.generation))
        args = [self.declared.prefix, f"{caller}:{digest}" if caller else digest]
        if count_call is None:
            try:
                reply = self._lookup(keys=keys, args=args)
            except redis.RedisError:
                return None, None, None
        else:
            # EVALSHA, not a Script in the pipeline: redis-py would spend a SCRIPT EXISTS
            # round trip on every execute; the script is loaded once (__init__, NOSCRIPT below).
            replies = count_call(lambda pipe: pipe.evalsha(self._lookup.sha, len(keys), *keys,
                                                           *args))
            if replies is None:
                return None, None, None
            reply = replies[0]
            if isinstance(reply, redis.exceptions.NoScriptError):  # Redis restarted: load it
                try:
                    reply = self._lookup(keys=keys, args=args)
                except redis.RedisError:
                    return None, None, None
            elif isinstance(reply, Exception):
                return None, None, None
        key, value, *lsn = reply
        return key.decode() if isinstance(key, bytes) else str(key), \
            value if isinstance(value, bytes) else None, \
            generations.parse(lsn[0]) if lsn else None

    def put(self, key: str, payload: bytes) -> None:
        try:
            self.client.set(key, payload, ex=self.declared.ttl_seconds)
        except redis.RedisError:
            log.warning("answer_cache_write_failed", cache=self.declared.name)


def invalidate(cache: Cache, generation: str, lsn: int | None = None) -> None:
    """Bump a group's generation (after the change has committed); `lsn`: the primary's WAL
    position read after the commit, with a read replica (`hotgigs.replica.generations`)."""
    generations.Generations(cache).bump(generation, lsn)


def _response_class(method: str) -> Any:
    service, name = method.strip("/").split("/")
    output = descriptor_pool.Default().FindServiceByName(service).FindMethodByName(name).output_type
    return message_factory.GetMessageClass(output)


class ResponseCacheInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]  # not generic at runtime
    """Serves and stores the answers of cached unary RPCs; bumps generations after the RPCs
    that invalidate them. Everything else passes through untouched."""

    def __init__(self, cache: Cache, rpcs: Mapping[str, Rpc], *,
                 primary_position: Callable[[], int | None] | None = None) -> None:
        """`primary_position`: the primary's WAL position now, given with a read replica."""
        self.cache = cache
        self.primary_position = primary_position
        track = primary_position is not None
        self.cached = {method: AnswerCache(cache, rpc.cached, track_lsn=track)
                       for method, rpc in rpcs.items() if rpc.cached is not None}
        self.invalidates = {method: rpc.invalidates for method, rpc in rpcs.items()
                            if rpc.invalidates}
        self.generations = generations.Generations(cache)

    def _invalidate(self, groups: tuple[str, ...]) -> None:
        lsn = self.primary_position() if self.primary_position is not None else None
        for generation in groups:
            self.generations.bump(generation, lsn)

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
                self._invalidate(groups)
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
            key, cached, required_lsn = answers.lookup_with_lsn(
                request.SerializeToString(deterministic=True), caller, count_call)
            if key is not None:
                if declared.traffic:
                    TRAFFIC.cache(hit=cached is not None)
                metrics.CACHE_REQUESTS.labels(declared.name, "hit" if cached else "miss").inc()
                if cached is not None:
                    return response_class.FromString(cached)
            response = behavior(request, context)
            if key is not None and (not answers.track_lsn or state is None
                                    or generations.storable(required_lsn, state.replica_lsn)):
                answers.put(key, response.SerializeToString())
            return response

        return grpc.unary_unary_rpc_method_handler(run, handler.request_deserializer,
                                                   handler.response_serializer)
