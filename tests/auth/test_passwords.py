"""argon2id parameters, rehash on login, and the memory bound on hashes running at once."""

from __future__ import annotations

import subprocess
import sys

import httpx
import sqlalchemy as sa
from argon2 import PasswordHasher, extract_parameters

from hotgigs.db import Database
from hotgigs.security import passwords
from tests.support.rest import STRONG_PASSWORD, register, unique_email

OWASP_MINIMUM = {"memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1}


def parameters(password_hash: str) -> dict[str, int]:
    found = extract_parameters(password_hash)
    return {"memory_cost": found.memory_cost, "time_cost": found.time_cost,
            "parallelism": found.parallelism}


def test_new_hashes_are_argon2id_at_owasp_minimum_parameters() -> None:
    password_hash = passwords.hash_password(STRONG_PASSWORD)
    assert password_hash.startswith("$argon2id$")
    assert parameters(password_hash) == OWASP_MINIMUM
    assert passwords.verify_password(password_hash, STRONG_PASSWORD)
    assert not passwords.verify_password(password_hash, STRONG_PASSWORD + "x")
    assert not passwords.verify_password("not a hash", STRONG_PASSWORD)


def test_a_hash_with_the_former_parameters_is_rehashed_at_login(
        rest: httpx.Client, database: Database) -> None:
    email = unique_email()
    register(rest, "candidate", email=email)
    former = PasswordHasher().hash(STRONG_PASSWORD)  # argon2-cffi's default: 64 MiB, t=3, p=4
    with database.engine.begin() as connection:
        connection.execute(sa.text("UPDATE users SET password_hash = :h WHERE email = :e"),
                           {"h": former, "e": email})
    answer = rest.post("/api/auth/login", json={"email": email, "password": STRONG_PASSWORD})
    assert answer.status_code == 200, answer.text
    with database.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT password_hash FROM users WHERE email = :e"),
                                    {"e": email}).scalar_one()
    assert stored != former
    assert parameters(stored) == OWASP_MINIMUM
    again = rest.post("/api/auth/login", json={"email": email, "password": STRONG_PASSWORD})
    assert again.status_code == 200, again.text


PEAK_MEMORY_SCRIPT = """
import threading
from hotgigs.security import passwords

def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

before = peak_kib()
threads = [threading.Thread(target=lambda: [passwords.hash_password("Vx7!kQ9#mZ2p") for _ in range(3)])
           for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(peak_kib() - before)
"""


def test_sixteen_logins_at_once_stay_within_the_hashing_memory_budget() -> None:
    """Hashes run several at a time, but never more than the budget holds (16 unbounded
    would take about 300 MiB)."""
    assert passwords.CONCURRENT_HASHES > 1
    result = subprocess.run([sys.executable, "-c", PEAK_MEMORY_SCRIPT], capture_output=True,
                            text=True, check=True, timeout=120)
    growth_kib = int(result.stdout.strip())
    slack_kib = 16 * 1024  # thread stacks, allocator rounding
    assert growth_kib <= passwords.HASHING_MEMORY_BUDGET_KIB + slack_kib, growth_kib
