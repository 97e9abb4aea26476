"""The distinct searches of the bench's "search uncached" case: what a user's pages 1-5 cost.

Every (word, city) pair's match count is asked of the API first (`totals`); each pair then
gives the offsets of full pages within its first `PAGES` pages (rows 0-99: offset 0, 1, ...
up to its matches minus a page), a pair with fewer matches than a page only its one first page.
Every (word, city, offset) is one search, in a fixed shuffled order (`plan`), so any window of
it is the same mix: no request repeats within `len(plan)` requests, none is in the answer
cache as long as no case within the cache's lifetime used the same window (`next_window`), and
most answers are full pages of `LIMIT` jobs (offsets up to 996 answered mostly empty pages
before, which hardly measured building and printing the jobs).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from hotgigs.dev.bench.scripts import SEARCH_WORDS
from hotgigs.dev.seed import CITIES

#: The words: the bench's search words and the seed's common skills (each in about a tenth of
#: the jobs), so the plan holds enough distinct full pages on a small seed (20,000 jobs).
WORDS = (*SEARCH_WORDS, "sql", "docker", "aws", "java", "javascript", "typescript", "terraform",
         "postgresql", "redis", "django")
#: Every city of the seed, by its name ("Berlin" of "Berlin, Germany").
CITIES_SEARCHED = tuple(city.split(",")[0] for city in CITIES)
LIMIT = 20
PAGES = 5
#: The windows are this part of the plan, so three consecutive cases (1 worker, N workers, the
#: next run's first) never share a search.
WINDOWS_PER_PLAN = 3

Search = tuple[str, str, int]  # word, city, offset


def totals(base_url: str, words: Sequence[str] = WORDS,
           cities: Sequence[str] = CITIES_SEARCHED) -> dict[tuple[str, str], int]:
    """The total the API answers for each (word, city) (one page of 1 job each)."""
    pairs = [(word, city) for word in words for city in cities]

    def total(client: httpx.Client, pair: tuple[str, str]) -> int:
        answer = client.get("/api/jobs", params={"search": pair[0], "location": pair[1], "limit": 1})
        answer.raise_for_status()
        return int(answer.json()["pagination"]["total"])

    with httpx.Client(base_url=base_url, timeout=60) as client, ThreadPoolExecutor(4) as pool:
        return dict(zip(pairs, pool.map(lambda pair: total(client, pair), pairs), strict=True))


def plan(match_counts: Mapping[tuple[str, str], int], seed: int = 17) -> list[Search]:
    """Every distinct search of the case, shuffled (the same order for the same counts)."""
    searches: list[Search] = []
    for (word, city), matches in sorted(match_counts.items()):
        offsets = min(matches - LIMIT + 1, PAGES * LIMIT) if matches >= LIMIT else 1
        searches += [(word, city, offset) for offset in range(offsets)]
    random.Random(seed).shuffle(searches)  # noqa: S311 - a repeatable order, not a secret
    return searches


def full_page_share(searches: Sequence[Search], match_counts: Mapping[tuple[str, str], int]) -> float:
    """The part of `searches` whose answer is a full page."""
    full = sum(1 for word, city, offset in searches if match_counts[word, city] >= offset + LIMIT)
    return full / len(searches) if searches else 0.0


def next_window(workdir: Path, size: int) -> tuple[int, int]:
    """(start, length) of the next case's window in a plan of `size` searches: the part after
    the last case's (kept in `workdir`), so a case never replays searches an earlier case (of
    this run or the last ones) left in the answer cache."""
    window = max(1, size // WINDOWS_PER_PLAN)
    marker = workdir / "search-uncached-next"
    try:
        start = int(marker.read_text()) % size
    except (OSError, ValueError):
        start = 0
    marker.write_text(str((start + window) % size))
    return start, window


def rotated(searches: Sequence[Search], start: int) -> list[Search]:
    """The plan from `start` on, then its beginning (a case's searches)."""
    return [*searches[start:], *searches[:start]]
