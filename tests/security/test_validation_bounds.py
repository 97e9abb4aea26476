"""Lists and strings a caller controls are bounded before any per-item work (issue 12, item 1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hotgigs.errors import InvalidArgument
from hotgigs.validation import Validator
from tests import factories
from tests.security.accounts import job_payload
from tests.support.rest import bearer, register


class CountingList(list[str]):
    """A list that counts the items anybody iterated over."""

    iterated = 0

    def __iter__(self) -> Iterator[str]:
        for item in super().__iter__():
            self.iterated += 1
            yield item


def test_an_overlong_list_is_refused_before_any_item_is_looked_at() -> None:
    values = CountingList(f"s{i}" for i in range(20_000))
    check = Validator()
    assert check.text_list("skills", values, max_items=50, max_length=50) == []
    assert values.iterated == 0
    with pytest.raises(InvalidArgument) as caught:
        check.check()
    assert [v.field for v in caught.value.violations] == ["skills"]


def test_de_duplication_keeps_order_and_first_spelling() -> None:
    check = Validator()
    assert check.text_list("skills", ["go", "sql", "go", " sql ", "rust"], max_items=5,
                           max_length=10) == ["go", "sql", "rust"]
    assert check.violations == []


def test_an_overlong_item_is_refused_without_sanitising_it(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr("hotgigs.validation.strip_markup", lambda value: calls.append(value) or value)
    check = Validator()
    check.text_list("skills", ["x" * 1_000_000, "go"], max_items=5, max_length=50)
    assert calls == ["go"]
    assert [v.field for v in check.violations] == ["skills[0]"]


def test_twenty_thousand_skills_to_match_jobs_are_refused(rest: httpx.Client) -> None:
    candidate = register(rest, "candidate")
    response = rest.post("/api/ai/match-jobs", headers=bearer(candidate),
                         json={"skills": [f"s{i}" for i in range(20_000)]})
    assert response.status_code == 400, response.text
    assert "at most 50 items" in response.text
    assert "skills[" not in response.text  # refused as a whole, not item by item


def test_a_job_with_a_hundred_thousand_skills_is_refused(rest: httpx.Client) -> None:
    """About 0.9 MB of distinct skills (under the 1 MiB body limit): the old quadratic
    de-duplication kept a worker busy for minutes; now one 400."""
    company = factories.owner(rest, industry="Software")
    payload = job_payload(company["company_id"], skills_required=[f"s{i}" for i in range(100_000)])
    response = rest.post("/api/jobs", headers=bearer(company), json=payload, timeout=60)
    assert response.status_code == 400, response.text
    assert "at most" in response.text


def test_two_hundred_thousand_skills_are_refused_at_envoy(rest: httpx.Client) -> None:
    """The issue's 3.4 MB body: over the 1 MiB limit of every route but the uploads."""
    company = factories.owner(rest, industry="Software")
    payload = job_payload(company["company_id"],
                          skills_required=[f"skill-{i}" for i in range(200_000)])
    response = rest.post("/api/jobs", headers=bearer(company), json=payload, timeout=60)
    assert response.status_code == 413
    body: dict[str, Any] = response.json()
    assert body["code"] == 8 and body["message"]


def test_a_two_megabyte_body_on_a_normal_route_is_413_json(rest: httpx.Client) -> None:
    body = b'{"email": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    response = rest.post("/api/auth/forgot-password", content=body,
                         headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["code"] == 8


def test_document_uploads_keep_the_large_limit(rest: httpx.Client) -> None:
    """2 MB as base64 JSON and as a raw body reach the server (not 413) on the upload routes."""
    import base64

    owner = register(rest, "candidate")
    content = b"plain text resume line\n" * (2 * 1024 * 1024 // 23)
    as_json = rest.post("/api/documents", headers=bearer(owner), timeout=60, json={
        "filename": "cv.txt", "content_type": "text/plain", "document_type": "resume",
        "content": base64.b64encode(content).decode()})
    assert as_json.status_code == 201, as_json.text
    raw = rest.post("/api/documents/upload", params={"filename": "cv.txt", "document_type": "resume"},
                    headers={**bearer(owner), "content-type": "text/plain"}, content=content,
                    timeout=60)
    assert raw.status_code == 201, raw.text
