"""Signed-in users and the REST calls tests make through Envoy."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.models import User

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


def admin(rest: httpx.Client, database: Database) -> dict[str, Any]:
    """A new account made admin in the database (no route makes admins), signed in again so
    its token carries the role."""
    account = register(rest, "company")
    with database.session_scope() as session:
        session.execute(sa.update(User).where(User.id == account["user"]["id"])
                        .values(user_type="admin"))
    login = rest.post("/api/auth/login", json={"email": account["user"]["email"],
                                               "password": STRONG_PASSWORD})
    assert login.status_code == 200, login.text
    body: dict[str, Any] = login.json()
    return body


def apply(rest: httpx.Client, candidate: dict[str, Any], job_id: int, **extra: Any) -> httpx.Response:
    """POST an application (the response as it is; tests.factories.application asserts 201)."""
    return rest.post("/api/applications", headers=bearer(candidate),
                     json={"job_id": job_id, "cover_letter": "I would love to join.", **extra})


def upload(rest: httpx.Client, account: dict[str, Any], content: bytes, filename: str,
           content_type: str, **extra: Any) -> httpx.Response:
    """POST a document as base64 JSON (the response as it is)."""
    return rest.post("/api/documents", headers=bearer(account), json={
        "document_type": "resume", "title": "My CV", "filename": filename,
        "content_type": content_type, "content": base64.b64encode(content).decode(), **extra})


def notifications_of(rest: httpx.Client, account: dict[str, Any], **params: Any) -> dict[str, Any]:
    response = rest.get("/api/notifications", headers=bearer(account), params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class LiveFeed:
    """`/api/notifications/stream` read on its own thread until `count` messages arrived;
    `connected` is set at the first one (the heartbeat sent once the subscription is in place)."""

    def __init__(self, base_url: str, account: dict[str, Any], count: int = 2) -> None:
        self.events: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._base_url, self._account, self._count = base_url, account, count
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        with httpx.Client(base_url=self._base_url, timeout=15) as client, client.stream(
                "GET", "/api/notifications/stream", headers=bearer(self._account)) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    self.events.append(json.loads(line[5:]))
                    self.connected.set()
                    if len(self.events) >= self._count:
                        return

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
