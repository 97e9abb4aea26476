"""The bench's same-run reference (FastAPI + uvicorn + async psycopg on our search's SQL): it
starts, and answers a search with the rows and total our REST API answers."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx

from hotgigs.dev.bench import reference
from tests import factories


def test_the_reference_answers_the_rows_our_api_answers(rest: httpx.Client, migrated_database_url: str,
                                                        tmp_path: Path) -> None:
    word = f"zr{uuid.uuid4().hex[:8]}"
    owner = factories.owner(rest, company_name=f"Reference {word}")
    made = [factories.job(rest, owner, title=f"Engineer {word} {n}", location=location)
            for n, location in enumerate(("Berlin, Germany", "Paris", "Berlin", "Berlni"))]
    # Offset 1 and 1 a page: the page does not settle the total, so the count runs too.
    params: dict[str, Any] = {"search": word, "location": "berlin", "offset": 1, "limit": 1}
    ours = rest.get("/api/jobs", params=params)
    assert ours.status_code == 200, ours.text
    with reference.serve(migrated_database_url, processes=1, pool_size=1, max_overflow=1,
                         workdir=tmp_path) as url:
        theirs = httpx.get(f"{url}/api/jobs", params=params, timeout=30)
        refused = httpx.get(f"{url}/api/jobs", params={**params, "limit": 0}, timeout=30)
    assert theirs.status_code == 200, theirs.text
    expected, answered = ours.json(), theirs.json()
    assert [job["id"] for job in answered["jobs"]] == [job["id"] for job in expected["jobs"]] \
        == [made[2]["id"]], "newest first: the second newest Berlin match"
    assert [(job["title"], job["company_name"]) for job in answered["jobs"]] \
        == [(job["title"], job["company"]["name"]) for job in expected["jobs"]]
    assert answered["pagination"] == expected["pagination"] == {"limit": 1, "offset": 1, "total": 3}
    assert refused.status_code == 422


def test_the_reference_runs_our_search_statements() -> None:
    compiled = reference.statements()
    assert "websearch_to_tsquery" in compiled["page"] and "LIMIT %(limit)s" in compiled["page"]
    assert "LIMIT %(up_to)s" in compiled["count"]
    assert compiled["constants"] == {"status_1": "active", "websearch_to_tsquery_1": "english"}
