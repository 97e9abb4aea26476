"""Pagination, defined once: the default and largest page, the deepest offset, and how a
request's values are checked. Out-of-range values are refused with a field violation (never
clamped silently), so a client learns the bound instead of getting a shorter page than asked.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Final

from hotgigs.validation import Validator

LIMIT_DEFAULT: Final = 20
LIMIT_MAX: Final = 100
OFFSET_MAX: Final = 1_000_000
PAGE_MAX: Final = 100_000


def limit(check: Validator, value: int | None, *, default: int = LIMIT_DEFAULT,
          maximum: int = LIMIT_MAX) -> int:
    """The page size: `default` when not given, refused outside 1..`maximum`."""
    size = check.number("limit", default if value is None else value, minimum=1, maximum=maximum)
    return size or default


def offset(check: Validator, value: int | None) -> int:
    """Rows to skip: 0 when not given, refused outside 0..OFFSET_MAX."""
    return check.number("offset", value or 0, minimum=0, maximum=OFFSET_MAX) or 0


def page(check: Validator, value: int | None) -> int:
    """A 1-based page number: 1 when not given, refused outside 1..PAGE_MAX."""
    return check.number("page", 1 if value is None else value, minimum=1, maximum=PAGE_MAX) or 1


@dataclasses.dataclass(frozen=True)
class Window:
    """One validated page request: `limit` rows after `offset`."""

    limit: int
    offset: int


@dataclasses.dataclass(frozen=True)
class Numbered:
    """A page-numbered request (`page` is 1-based)."""

    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def pages(self, total: int) -> int:
        return math.ceil(total / self.limit) if self.limit else 0
