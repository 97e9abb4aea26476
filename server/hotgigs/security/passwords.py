"""Password hashing (argon2id, rehashed when the parameters change) and the strength rules.

Strength rules (from the original API, each failure named in the 400 body by its rule id):
  length       8-128 characters
  uppercase    at least one upper-case letter
  lowercase    at least one lower-case letter
  digit        at least one digit
  special      at least one character that is not a letter or digit
  common       not a common password (also after stripping trailing digits/symbols)
  sequence     no run of 4+ consecutive characters such as 1234, abcd, qwer (either direction)
  repeated     no character three times in a row
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hotgigs.errors import FieldViolation

_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_RUN_LENGTH = 4
# argon2id at OWASP's minimum recommended parameters (19 MiB, 2 passes, 1 lane): about 35 ms
# of worker CPU per login here (`make bench`), a seventh of argon2-cffi's default RFC 9106
# low-memory profile (64 MiB, 3 passes, 4 lanes; about 250 ms), which made login the slowest call.
# Hashes made with other parameters are rehashed at the next successful login.
HASH_MEMORY_KIB = 19 * 1024
_hasher = PasswordHasher(time_cost=2, memory_cost=HASH_MEMORY_KIB, parallelism=1)
# Each hash or verify holds HASH_MEMORY_KIB while it runs (the GIL is released meanwhile), so
# the number running at once is bounded by a memory budget per process, not by a count. They run
# on a small pool of their own threads, not on the callers': glibc keeps a freed 19 MiB block in
# the allocating thread's arena (below its 32 MiB mmap threshold), so hashing on each of 16 gRPC
# threads lifted a worker's peak RSS by about 290 MiB even with a semaphore; on 3 threads it
# is bounded by 3 blocks. Callers queue for the pool.
HASHING_MEMORY_BUDGET_KIB = 64 * 1024
CONCURRENT_HASHES = max(1, HASHING_MEMORY_BUDGET_KIB // HASH_MEMORY_KIB)
_hashing_pool = ThreadPoolExecutor(CONCURRENT_HASHES, thread_name_prefix="argon2")


def _load_common() -> frozenset[str]:
    text = resources.files("hotgigs.security").joinpath("common_passwords.txt").read_text()
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


COMMON_PASSWORDS = _load_common()


def _has_sequence(password: str) -> bool:
    lowered = password.lower()
    for alphabet in _SEQUENCES:
        for source in (alphabet, alphabet[::-1]):
            for start in range(len(source) - _RUN_LENGTH + 1):
                if source[start:start + _RUN_LENGTH] in lowered:
                    return True
    return False


def strength_violations(password: str, field: str = "password") -> list[FieldViolation]:
    """Every rule the password breaks, as field violations naming the rule."""
    rules: list[tuple[str, bool, str]] = [
        ("length", 8 <= len(password) <= 128, "must be 8 to 128 characters long"),
        ("uppercase", any(c.isupper() for c in password), "must contain an upper-case letter"),
        ("lowercase", any(c.islower() for c in password), "must contain a lower-case letter"),
        ("digit", any(c.isdigit() for c in password), "must contain a digit"),
        ("special", any(not c.isalnum() for c in password),
         "must contain a special character (not a letter or digit)"),
        ("common", not _is_common(password), "is too common; choose a less guessable password"),
        ("sequence", not _has_sequence(password),
         "must not contain runs such as 1234, abcd or qwer"),
        ("repeated", re.search(r"(.)\1\1", password) is None,
         "must not repeat a character three times in a row"),
    ]
    return [FieldViolation(field, f"{rule}: {message}") for rule, ok, message in rules if not ok]


def _is_common(password: str) -> bool:
    lowered = password.lower()
    return lowered in COMMON_PASSWORDS or re.sub(r"[\d\W_]+$", "", lowered) in COMMON_PASSWORDS


def hash_password(password: str) -> str:
    return _hashing_pool.submit(_hasher.hash, password).result()


def is_usable(password_hash: str) -> bool:
    """False for an account without a password (made by a sign-in with an identity provider)."""
    return not password_hash.startswith(UNUSABLE_PREFIX)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; never raises for a wrong password or a malformed hash.
    An account without a password costs the same check as one with a wrong password."""
    if not is_usable(password_hash):
        password_hash = DUMMY_HASH
        password = "\x00"  # noqa: S105 - never the dummy's password: the check fails
    try:
        return _hashing_pool.submit(_hasher.verify, password_hash, password).result()
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (rehash on next login)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# The `password_hash` of an account that has no password (argon2 hashes start with `$`).
UNUSABLE_PREFIX = "!"
UNUSABLE_HASH = "!no-password"
# A real hash to verify against when the account does not exist, so a login for an unknown
# e-mail costs the same time as one with a wrong password.
DUMMY_HASH = _hasher.hash("not-a-real-password-Zx!9")
