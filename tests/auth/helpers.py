"""Helpers for tests that need signed-in users."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx

STRONG_PASSWORD = "Vx7!kQ9#mZ2p"
_numbers = itertools.count(1)


def unique_email() -> str:
    return f"user{next(_numbers)}-{uuid.uuid4().hex[:8]}@example.com"


def register(rest: httpx.Client, user_type: str, *, email: str | None = None,
             password: str = STRONG_PASSWORD) -> dict[str, Any]:
    """Register a user over REST and return the response body (user and tokens)."""
    response = rest.post("/api/auth/register", json={
        "email": email or unique_email(), "password": password, "first_name": "Test",
        "last_name": user_type.title(), "user_type": user_type})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(account: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {account['access_token']}"}
