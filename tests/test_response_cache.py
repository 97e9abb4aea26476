"""The answer cache against the real Redis: one-round-trip look-ups keyed by the generation,
invalidation, answers per caller, and a dead Redis meaning 'do not cache' rather than an error.
What is cached is declared in the modules' policy.py (`hotgigs.manifest`)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hotgigs import manifest
from hotgigs.analytics.policy import DASHBOARD_CACHE
from hotgigs.cache import Cache
from hotgigs.dev.embedded import free_port
from hotgigs.errors import ResourceExhausted
from hotgigs.grpc_server.response_cache import AnswerCache, invalidate
from hotgigs.jobs.policy import SEARCH_CACHE
from hotgigs.security.ratelimit import Limit, RateLimiter


def test_lookup_put_and_invalidate(cache: Cache) -> None:
    search_cache = AnswerCache(cache, SEARCH_CACHE)
    request = b"search=lookup-test-" + str(free_port()).encode()
    key, cached = search_cache.lookup(request)
    assert key is not None
    assert cached is None
    generation = int(cache.client.get("hg:jobsearch:generation") or 0)
    assert key.startswith(f"hg:jobsearch:{generation}:")
    search_cache.put(key, b"answer")
    assert search_cache.lookup(request) == (key, b"answer")
    assert search_cache.lookup(request + b"&page=2")[1] is None, "another request, another key"
    invalidate(cache, SEARCH_CACHE.generation)
    new_key, cached = search_cache.lookup(request)
    assert (new_key != key, cached) == (True, None)


def _counted(cache: Cache, requests: int) -> tuple[RateLimiter, Any]:
    """A rate limit of `requests` a minute for one new identity, and its count of a call that
    carries other commands (as RateLimitInterceptor hands it to the answer cache)."""
    limiter = RateLimiter(cache, {"test": [Limit(requests, 60)]})
    identity = f"lookup-{uuid.uuid4().hex}"

    def count_call(also: Any) -> list[Any] | None:
        decision = limiter.hit("test", identity, also=also)
        if not decision.allowed:
            raise ResourceExhausted("over", retry_after_seconds=decision.retry_after_seconds)
        return decision.replies

    return limiter, count_call


def test_a_lookup_rides_in_the_count_of_the_call(cache: Cache) -> None:
    """Counted and looked up in one pipeline: the answer is found, the count is kept, and a
    call over the limit is refused even when its answer is cached."""
    _, count_call = _counted(cache, 3)
    search_cache = AnswerCache(cache, SEARCH_CACHE)
    request = f"search=counted-{uuid.uuid4().hex}".encode()
    key, cached = search_cache.lookup(request, count_call=count_call)
    assert key is not None and cached is None
    search_cache.put(key, b"answer")
    assert search_cache.lookup(request, count_call=count_call) == (key, b"answer")
    cache.client.script_flush()  # a restarted Redis has no scripts: loaded again, still found
    assert search_cache.lookup(request, count_call=count_call) == (key, b"answer")
    with pytest.raises(ResourceExhausted):
        search_cache.lookup(request, count_call=count_call)


def test_answers_per_caller_are_keyed_by_generation_and_caller(cache: Cache) -> None:
    """Analytics answers have a generation too (only POST /api/cache/clear bumps it)."""
    answers = AnswerCache(cache, DASHBOARD_CACHE)
    request = b"dashboard-" + str(free_port()).encode()
    key, _ = answers.lookup(request, "7:candidate")
    generation = int(cache.client.get(DASHBOARD_CACHE.generation) or 0)
    assert key is not None and key.startswith(f"hg:analytics:dashboard:{generation}:7:candidate:")
    answers.put(key, b"mine")
    assert answers.lookup(request, "8:candidate")[1] is None, "another caller, another key"
    assert answers.lookup(request, "7:candidate")[1] == b"mine"


def test_job_changes_invalidate_the_search_cache() -> None:
    """Every RPC that changes a job bumps the search generation (declared, not hand-kept)."""
    changing = {method.rsplit("/", 1)[1] for method, rpc in manifest.RPCS.items()
                if SEARCH_CACHE.generation in rpc.invalidates}
    assert changing == {"CreateJob", "UpdateJob", "DeleteJob", "PublishJob", "PauseJob"}


def test_a_dead_redis_means_no_caching_not_an_error() -> None:
    dead = Cache(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2)
    try:
        search_cache = AnswerCache(dead, SEARCH_CACHE)
        assert search_cache.lookup(b"anything") == (None, None)
        search_cache.put("hg:jobsearch:0:x", b"answer")  # logged, not raised
        invalidate(dead, SEARCH_CACHE.generation)
    finally:
        dead.close()


def test_every_declared_cache_is_a_preinitialised_metric_label() -> None:
    """The caches the modules declare are the `cache` label values the metrics create at 0."""
    from hotgigs.telemetry import metrics

    declared = {rpc.cached.name for rpc in manifest.RPCS.values() if rpc.cached is not None}
    assert declared == set(metrics.CACHE_NAMES)
