"""Sign-in throttling per (e-mail, client address), with a higher ceiling per e-mail.

Wrong passwords no longer lock an account (that let anyone lock its owner out):
- per (e-mail, address): after `LOGIN_MAX_FAILURES` failures in a row, sign-ins for that e-mail
  from that address answer 429 for 1 s, then 2, 4, 8 ... s after each further failure, at most
  `LOGIN_LOCKOUT_SECONDS`; a success from that address clears its count. The owner signing in
  from another address is not affected;
- per e-mail, across all addresses: after `LOGIN_ACCOUNT_MAX_FAILURES` failures within
  an hour (distributed guessing), further sign-ins answer 429 until the hour is over, except
  from addresses that signed in to the account successfully in the last 30 days.
A throttled attempt is answered before any password is checked and is not counted. Unknown
e-mails are counted exactly like existing ones, so the answers (status, body, Retry-After)
are the same and reveal nothing. The counters live in Redis with expiries; nothing sleeps. With
Redis down the throttle lets attempts through (logged) and the per-address auth rate limit
(10/minute) still bounds guessing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable

import redis
import structlog

from hotgigs.cache import Cache
from hotgigs.errors import ResourceExhausted

log = structlog.get_logger(__name__)

PAIR_MEMORY_SECONDS = 86_400  # failures in a row are forgotten after a quiet day
ACCOUNT_WINDOW_SECONDS = 3600
KNOWN_ADDRESS_SECONDS = 30 * 86_400
MESSAGE = "Too many failed sign-ins; retry in {seconds} s"


@dataclasses.dataclass(frozen=True)
class _Keys:
    pair_failures: str
    pair_block: str
    account_failures: str
    known: str


class LoginThrottle:
    """Decides whether a sign-in attempt may check its password, and counts the outcome."""

    def __init__(self, cache: Cache, *, max_failures: int, lockout_seconds: int,
                 account_max_failures: int, clock: Callable[[], float] = time.time) -> None:
        self.cache = cache
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.account_max_failures = account_max_failures
        self.clock = clock

    @staticmethod
    def _keys(email: str, address: str) -> _Keys:
        account = hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()[:32]
        where = hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()[:16]
        prefix = "hg:login"
        return _Keys(f"{prefix}:fail:{account}:{where}", f"{prefix}:block:{account}:{where}",
                     f"{prefix}:acct:{account}", f"{prefix}:known:{account}:{where}")

    def block_seconds(self, failures: int) -> int:
        """How long a pair is blocked after its `failures`-th failure in a row (0: not)."""
        if failures < self.max_failures:
            return 0
        return min(self.lockout_seconds, int(2 ** min(failures - self.max_failures, 30)))

    def check(self, email: str, address: str) -> None:
        """Raise ResourceExhausted (429, Retry-After) when this attempt must wait."""
        keys = self._keys(email, address)
        try:
            pipe = self.cache.state.pipeline(transaction=False)
            pipe.get(keys.pair_block)
            pipe.get(keys.account_failures)
            pipe.ttl(keys.account_failures)
            pipe.exists(keys.known)
            block, account_failures, account_ttl, known = pipe.execute()
        except redis.RedisError:
            log.warning("login_throttle_unavailable")
            return
        if block:
            until, _, seconds = block.decode().partition(":")
            if float(until) > self.clock():
                # the block's whole length (never less than what is left): a stable answer
                self._refuse(int(seconds))
        if int(account_failures or 0) >= self.account_max_failures and not known:
            self._refuse(max(1, int(account_ttl)))

    def failed(self, email: str, address: str) -> None:
        """Count a wrong password (or an unknown e-mail) from `address`."""
        keys = self._keys(email, address)
        try:
            pipe = self.cache.state.pipeline(transaction=False)
            pipe.incr(keys.pair_failures)
            pipe.expire(keys.pair_failures, PAIR_MEMORY_SECONDS)
            pipe.set(keys.account_failures, 0, ex=ACCOUNT_WINDOW_SECONDS, nx=True)
            pipe.incr(keys.account_failures)
            failures = int(pipe.execute()[0])
            seconds = self.block_seconds(failures)
            if seconds:
                self.cache.state.set(keys.pair_block, f"{self.clock() + seconds}:{seconds}",
                                      ex=seconds + 1)
                log.warning("login_throttled", failures=failures, seconds=seconds)
        except redis.RedisError:
            log.warning("login_failure_not_counted")

    def succeeded(self, email: str, address: str) -> None:
        """The right password from `address`: clear its count and remember it as known."""
        keys = self._keys(email, address)
        try:
            pipe = self.cache.state.pipeline(transaction=False)
            pipe.delete(keys.pair_failures, keys.pair_block)
            pipe.set(keys.known, b"1", ex=KNOWN_ADDRESS_SECONDS)
            pipe.execute()
        except redis.RedisError:
            log.warning("login_success_not_recorded")

    @staticmethod
    def _refuse(seconds: int) -> None:
        raise ResourceExhausted(MESSAGE.format(seconds=seconds), retry_after_seconds=seconds,
                                reason="LOGIN_THROTTLED")
