"""Cached answers in Redis, declared per RPC in the module's `policy.py` (`Rpc(cached=...)`,
`Rpc(invalidates=...)`, collected by `hotgigs.manifest`) instead of kept by servicers.

A cached RPC's answer is stored under its prefix, the caller (when `per_caller`), the current
generation of its group (when it has one) and a SHA-256 of the request's deterministic
serialisation, for `ttl_seconds`. An RPC that `invalidates` a group bumps the group's
generation after it succeeded (its transaction has committed by then), so the next look-up
misses and sees the change at once. A look-up is one Lua script (it reads the generation and
the answer, `generations.LOOKUP`), sent in the same round trip as the rate limit's count of the
call (`RequestContext.count_call`); it also reads the value a `Cached.companion` names for the
handler (the search's total: `RequestContext.prefetched`). What the handler writes to Redis
through `RequestContext.cache_writes` goes with the stored answer in one pipelined round trip.
So an uncached search costs two round trips, a cached one one. With Redis down the cache is
skipped: answers are recomputed.

With a read replica (DATABASE_REPLICA_URL) a look-up also reads the primary WAL position its
generation stands for, and an answer read on the replica is stored only when the replica had
replayed that far (`hotgigs.replica.generations`): never a stale answer under a new generation.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

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

Companion = Callable[[Any], "tuple[str, str] | None"]
CacheWrite = tuple[str, "bytes | int", int]


@dataclasses.dataclass(frozen=True)
class Lookup:
    """What a look-up found: where to store the answer (None: Redis is unavailable, do not
    cache), the cached answer or None, the WAL position its generation stands for (None: not
    tracked or unknown), and the companion value when one was asked for."""

    key: str | None
    value: bytes | None = None
    lsn: int | None = None
    companion: generations.Found | None = None


_UNAVAILABLE: Final = Lookup(None)


def companion_of(declared: Cached) -> Companion | None:
    """The function `Cached.companion` names ("module:function"), or None."""
    if not declared.companion:
        return None
    module, _, name = declared.companion.partition(":")
    function: Companion = getattr(importlib.import_module(module), name)
    return function


class AnswerCache:
    """Look-up, store and invalidate answers of one `Cached` declaration."""

    def __init__(self, cache: Cache, declared: Cached, *, track_lsn: bool = False) -> None:
        self.client = cache.client
        self.declared = declared
        self.track_lsn = track_lsn and bool(declared.generation)
        self.companion = companion_of(declared) if declared.generation else None
        self._lookup = self.client.register_script(generations.LOOKUP)

    def lookup(self, request_bytes: bytes, caller: str = "",
               count_call: Callable[[Any], list[Any] | None] | None = None
               ) -> tuple[str | None, bytes | None]:
        """(key to store the answer under, the cached answer or None); see `look_up`."""
        found = self.look_up(request_bytes, caller, count_call)
        return found.key, found.value

    def look_up(self, request_bytes: bytes, caller: str = "",
                count_call: Callable[[Any], list[Any] | None] | None = None,
                companion: tuple[str, str] | None = None) -> Lookup:
        """Read the generation and the answer in one script, before the database is queried.
        With `count_call` (the rate limit's count of this call) the look-up rides in the
        count's round trip; a call over the limit raises from it. `companion`: (prefix,
        suffix) of a value kept under the same generation, read in the same script."""
        digest = hashlib.sha256(request_bytes).hexdigest()
        keys = [self.declared.generation or ""]
        if self.track_lsn:
            keys.append(generations.lsn_key(self.declared.generation))
        args = [self.declared.prefix, f"{caller}:{digest}" if caller else digest]
        if companion is not None:
            args.extend(companion)
        if count_call is None:
            try:
                reply = self._lookup(keys=keys, args=args)
            except redis.RedisError:
                return _UNAVAILABLE
        else:
            # EVALSHA, not a Script in the pipeline: redis-py would spend a SCRIPT EXISTS
            # round trip on every execute; the script is loaded once (__init__, NOSCRIPT below).
            replies = count_call(lambda pipe: pipe.evalsha(self._lookup.sha, len(keys), *keys,
                                                           *args))
            if replies is None:
                return _UNAVAILABLE
            reply = replies[0]
            if isinstance(reply, redis.exceptions.NoScriptError):  # Redis restarted: load it
                try:
                    reply = self._lookup(keys=keys, args=args)
                except redis.RedisError:
                    return _UNAVAILABLE
            elif isinstance(reply, Exception):
                return _UNAVAILABLE
        answer, companion_found = generations.found(reply)
        return Lookup(answer.key, answer.value, answer.lsn if self.track_lsn else None,
                      companion_found)

    def put(self, key: str | None, payload: bytes, also: Sequence[CacheWrite] = ()) -> None:
        """Store an answer under `key` (None: only `also`) with the SETs `also` gives, in
        one round trip."""
        try:
            if not also:
                if key is not None:
                    self.client.set(key, payload, ex=self.declared.ttl_seconds)
                return
            pipe = self.client.pipeline(transaction=False)
            if key is not None:
                pipe.set(key, payload, ex=self.declared.ttl_seconds)
            for write_key, value, ttl_seconds in also:
                pipe.set(write_key, value, ex=ttl_seconds)
            pipe.execute()
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
            companion = None if answers.companion is None else answers.companion(request)
            found = answers.look_up(request.SerializeToString(deterministic=True), caller,
                                    count_call, companion)
            if found.key is not None:
                if declared.traffic:
                    TRAFFIC.cache(hit=found.value is not None)
                metrics.CACHE_REQUESTS.labels(declared.name,
                                              "hit" if found.value else "miss").inc()
                if found.value is not None:
                    return response_class.FromString(found.value)
            writes: list[CacheWrite] = []
            if state is not None:
                if companion is not None and found.companion is not None:
                    state.prefetched[companion] = found.companion
                state.cache_writes = writes
            try:
                response = behavior(request, context)
            finally:
                if state is not None:
                    state.cache_writes = None
            storable = found.key is not None and (
                not answers.track_lsn or state is None
                or generations.storable(found.lsn, state.replica_lsn))
            if storable or writes:
                answers.put(found.key if storable else None, response.SerializeToString(),
                            writes)
            return response

        return grpc.unary_unary_rpc_method_handler(run, handler.request_deserializer,
                                                   handler.response_serializer)
