"""Cached answers read on a replica never outlive the data the replica had not yet replayed.

A cached group (`Cached.generation`, e.g. the job search) is invalidated by bumping its
generation after a change commits; answers are stored under the generation read before the
query. On the primary that is enough: the query runs after the look-up, so it sees every change
whose bump the look-up saw. A replica may not have replayed those changes yet, and its stale
answer, stored under the new generation, would be served until the next change or the TTL.

The rule kept here: an answer read on the replica is stored under generation g only when the
replica had replayed, before the read began, every commit whose bump led to g.

- Next to each generation key `G` lives `G:lsn`: the highest primary WAL position read (on the
  primary, `pg_current_wal_lsn()`) after a commit whose bump made the generation what it is.
  `bump` raises it and INCRs `G` in one script, so the pair always moves together.
- The look-up reads `G` and `G:lsn` in the same script (no extra round trip).
- The router vouches for a replica read with the replay position its monitor saw before the
  read began (`router.replayed()`, `RequestContext.replica_lsn`); `storable` lets the answer be
  stored only when that position is at or past `G:lsn`. Right after a change that is usually
  false for one check interval (about a second), then true again: the cache keeps working.
- `G:lsn` unknown (a new install, an eviction, a bump whose position could not be read, or a
  worker without a replica, whose bumps delete it): replica answers are not stored until the
  monitor `seed`s it with a primary position read AFTER it saw the generation, set only if the
  generation has not moved since (compare-and-set), so no bump can slip in between.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import redis
import structlog

from hotgigs.cache import Cache

log = structlog.get_logger(__name__)

LSN_SUFFIX = ":lsn"

# The one look-up of values kept under a generation (answers, search totals), one round trip:
# read the generation G (KEYS[1]; '' for none) and, given KEYS[2], its WAL position G:lsn; GET
# ARGV[1] .. G .. ':' .. ARGV[2]; and, given ARGV[3] and ARGV[4], a companion value kept under
# the same generation (ARGV[3] .. G .. ':' .. ARGV[4]). Replies {key, value, G:lsn[,
# companion key, companion value]}.
LOOKUP = """
local generation = ''
local lsn = false
if KEYS[1] ~= '' then
  generation = (redis.call('GET', KEYS[1]) or '0') .. ':'
  if KEYS[2] then lsn = redis.call('GET', KEYS[2]) end
end
local key = ARGV[1] .. generation .. ARGV[2]
local reply = {key, redis.call('GET', key), lsn}
if ARGV[3] then
  local companion = ARGV[3] .. generation .. ARGV[4]
  reply[4] = companion
  reply[5] = redis.call('GET', companion)
end
return reply
"""

_BUMP = """
local known = redis.call('GET', KEYS[2])
if known and ARGV[1] ~= '' then
  if tonumber(ARGV[1]) > tonumber(known) then redis.call('SET', KEYS[2], ARGV[1]) end
else
  redis.call('DEL', KEYS[2])
end
return redis.call('INCR', KEYS[1])
"""
# The generation when `G:lsn` is missing (to seed it), else nil.
_UNSEEDED = """
if redis.call('EXISTS', KEYS[2]) == 1 then return false end
return redis.call('GET', KEYS[1]) or '0'
"""
_SEED = """
if (redis.call('GET', KEYS[1]) or '0') == ARGV[1] and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[2], ARGV[2])
  return 1
end
return 0
"""


@dataclasses.dataclass(frozen=True)
class Found:
    """One value read by `LOOKUP`: the key it is (to be) kept under, the value or None, and
    the WAL position of the generation it was read under (None: not read or unknown)."""

    key: str
    value: bytes | None
    lsn: int | None


def found(reply: Sequence[object]) -> tuple[Found, Found | None]:
    """`LOOKUP`'s reply: the value, and the companion value when one was asked for."""
    lsn = parse(reply[2])
    main = Found(_text(reply[0]), _bytes(reply[1]), lsn)
    return main, (Found(_text(reply[3]), _bytes(reply[4]), lsn) if len(reply) > 3 else None)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bytes(value: object) -> bytes | None:
    return value if isinstance(value, bytes) else None


def lsn_key(generation: str) -> str:
    return generation + LSN_SUFFIX


def parse(value: object) -> int | None:
    """A `G:lsn` value as the look-up script returns it (bytes, or None when missing)."""
    if isinstance(value, bytes | str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def storable(required: int | None, replayed: int | None) -> bool:
    """May an answer be stored under a generation needing replay position `required`? Always
    when read on the primary (`replayed` None); from the replica only when the position it had
    replayed before the read is known to cover `required`."""
    return replayed is None or (required is not None and replayed >= required)


class Generations:
    """Bumps generations together with their WAL positions, and seeds missing positions."""

    def __init__(self, cache: Cache) -> None:
        self.client = cache.client
        self._bump = self.client.register_script(_BUMP)
        self._unseeded = self.client.register_script(_UNSEEDED)
        self._seed = self.client.register_script(_SEED)

    def bump(self, generation: str, lsn: int | None) -> None:
        """Invalidate `generation` after a change committed; `lsn`: the primary's WAL position
        read after the commit (None: unknown, or no replica: replica answers wait for a seed)."""
        try:
            self._bump(keys=[generation, lsn_key(generation)], args=["" if lsn is None else lsn])
        except redis.RedisError:
            log.warning("answer_cache_not_invalidated", generation=generation)

    def seed(self, generation: str, primary_position: Callable[[], int | None]) -> bool:
        """Give `generation` a WAL position when it has none; True when one was set."""
        try:
            seen = self._unseeded(keys=[generation, lsn_key(generation)])
            if seen is None:
                return False
            position = primary_position()  # read after the generation was seen
            if position is None:
                return False
            return bool(self._seed(keys=[generation, lsn_key(generation)],
                                   args=[seen, position]))
        except redis.RedisError:
            return False
