"""The one pagination toolkit (`hotgigs.core.pagination`): out-of-range values are refused,
never clamped, and every list RPC answers the same way over REST."""

from __future__ import annotations

import httpx
import pytest

from hotgigs.core import pagination
from hotgigs.errors import InvalidArgument
from hotgigs.validation import Validator
from tests.support.rest import bearer, register


def _violations(response: httpx.Response) -> set[str]:
    return {v["field"] for d in response.json()["details"] for v in d.get("field_violations", [])}


@pytest.mark.parametrize(("limit", "offset", "page"), [
    (0, None, None), (pagination.LIMIT_MAX + 1, None, None), (None, -1, None),
    (None, pagination.OFFSET_MAX + 1, None), (None, None, 0), (None, None, pagination.PAGE_MAX + 1)])
def test_out_of_range_values_are_refused(limit: int | None, offset: int | None,
                                         page: int | None) -> None:
    check = Validator()
    pagination.limit(check, limit)
    pagination.offset(check, offset)
    pagination.page(check, page)
    with pytest.raises(InvalidArgument):
        check.check()


def test_defaults_when_not_given() -> None:
    check = Validator()
    assert pagination.limit(check, None) == pagination.LIMIT_DEFAULT
    assert pagination.offset(check, None) == 0
    assert pagination.page(check, None) == 1
    assert pagination.limit(check, None, default=10, maximum=50) == 10
    check.check()


def test_recommendations_refuse_a_limit_above_the_maximum(rest: httpx.Client) -> None:
    """GetJobRecommendations clamped `limit` silently (to 50); it is refused like every list."""
    candidate = register(rest, "candidate")
    response = rest.get("/api/ai/job-recommendations", headers=bearer(candidate),
                        params={"limit": 51})
    assert response.status_code == 400, response.text
    assert _violations(response) == {"limit"}
    assert rest.get("/api/ai/job-recommendations", headers=bearer(candidate),
                    params={"limit": 0}).status_code == 400


@pytest.mark.parametrize("path", ["/api/notifications", "/api/documents"])
def test_lists_refuse_an_offset_beyond_the_deepest(rest: httpx.Client, path: str) -> None:
    """Notifications and documents took any offset; they share the bound of the other lists."""
    candidate = register(rest, "candidate")
    response = rest.get(path, headers=bearer(candidate),
                        params={"offset": pagination.OFFSET_MAX + 1})
    assert response.status_code == 400, response.text
    assert _violations(response) == {"offset"}
