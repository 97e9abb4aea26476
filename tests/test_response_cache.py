"""The answer cache against the real Redis: one-round-trip look-ups keyed by the generation,
invalidation, answers per caller, and a dead Redis meaning 'do not cache' rather than an error.
What is cached is declared in the modules' policy.py (`hotgigs.manifest`)."""

from __future__ import annotations

from hotgigs import manifest
from hotgigs.analytics.policy import DASHBOARD_CACHE
from hotgigs.cache import Cache
from hotgigs.dev.embedded import free_port
from hotgigs.grpc_server.response_cache import AnswerCache, invalidate
from hotgigs.jobs.policy import SEARCH_CACHE


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


def test_answers_per_caller_have_no_generation(cache: Cache) -> None:
    answers = AnswerCache(cache, DASHBOARD_CACHE)
    request = b"dashboard-" + str(free_port()).encode()
    key, _ = answers.lookup(request, "7:candidate")
    assert key is not None and key.startswith("hg:analytics:dashboard:7:candidate:")
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
