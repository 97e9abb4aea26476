"""wrk Lua scripts for the seed's endpoints (the summary hook is added by `loadgen.wrk`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote

# Each wrk thread gets an id (0, 1, ...) so threads never send the same request sequence.
THREAD_IDS = """
local thread_count = 0
function setup(thread) thread:set("id", thread_count); thread_count = thread_count + 1 end
"""

SEARCH_WORDS = ("engineer", "developer", "data", "python", "manager", "senior", "analyst",
                "cloud", "designer", "sales", "nurse", "security", "react", "kubernetes", "finance")
CACHED_WORDS = ("engineer", "developer", "data", "python")


def lua_list(values: Sequence[str | int]) -> str:
    """A Lua table literal (JSON string escapes are valid Lua for the ASCII we send)."""
    return "{" + ", ".join(json.dumps(value) for value in values) + "}"


def plain_get() -> str:
    """GET the URL given to wrk, nothing else."""
    return ""


def search_uncached(searches: Sequence[tuple[str, str, int]]) -> str:
    """GET /api/jobs?search=&location=&offset=&limit=20 for each (word, city, offset) of
    `searches` in turn, the two wrk threads interleaved (`searches.plan` makes them distinct;
    after the last one it starts over)."""
    words = {word: index for index, word in enumerate(sorted({s[0] for s in searches}), 1)}
    cities = {city: index for index, city in enumerate(sorted({s[1] for s in searches}), 1)}
    flat: list[int] = []
    for word, city, offset in searches:
        flat += [words[word], cities[city], offset]
    return THREAD_IDS + f"""
local words = {lua_list([quote(word) for word in words])}
local cities = {lua_list([quote(city) for city in cities])}
local searches = {lua_list(flat)}
local count = #searches / 3
local threads = 2
function init(args) n = (id or 0) - threads end
request = function()
  n = n + threads
  local at = (n % count) * 3
  local path = string.format("/api/jobs?search=%s&location=%s&offset=%d&limit=20",
    words[searches[at + 1]], cities[searches[at + 2]], searches[at + 3])
  return wrk.format("GET", path)
end
"""


def search_cached(limit: int = 20) -> str:
    """A handful of repeated public searches (what the answer caches are for), `limit` jobs
    a page."""
    return f"""
local words = {lua_list(CACHED_WORDS)}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/jobs?search=" .. words[n % #words + 1] .. "&limit={limit}")
end
"""


def login(emails: Sequence[str], password: str) -> str:
    """POST /api/auth/login for a rotating set of real accounts (argon2id verify each time)."""
    return THREAD_IDS + f"""
local emails = {lua_list(emails)}
function init(args) n = id or 0 end
request = function()
  n = n + 1
  local body = string.format('{{"email": "%s", "password": {json.dumps(password)}}}',
                             emails[n % #emails + 1])
  return wrk.format("POST", "/api/auth/login", {{["Content-Type"] = "application/json"}}, body)
end
"""


def create_job(token: str, company_id: int) -> str:
    """POST /api/jobs (a draft) as a member of the company."""
    return THREAD_IDS + f"""
function init(args) n = (id or 0) * 1000003 end
request = function()
  n = n + 1
  local body = string.format('{{"company_id": {company_id}, "title": "Bench engineer %d", '
    .. '"description": "A job created by make bench to measure job creation.", '
    .. '"requirements": "Python and SQL, three years.", "location": "Berlin", '
    .. '"employment_type": "full-time", '
    .. '"experience_level": "mid", "salary_min": 50000, "salary_max": 70000, '
    .. '"skills_required": ["Python"]}}', n)
  return wrk.format("POST", "/api/jobs", {{["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer {token}"}}, body)
end
"""


def submit_applications(tokens: Sequence[str], job_ids: Sequence[int]) -> str:
    """POST /api/applications: request k is candidate k mod C applying to job k div C, so no
    pair repeats (a repeat would be a 409) until C x J requests."""
    return THREAD_IDS + f"""
local tokens = {lua_list(tokens)}
local jobs = {lua_list(job_ids)}
local threads = 2
function init(args) n = 0 end
request = function()
  local k = n * threads + (id or 0)
  n = n + 1
  local candidate = k % #tokens + 1
  local job = jobs[math.floor(k / #tokens) % #jobs + 1]
  local body = string.format('{{"job_id": %d, "cover_letter": "Measured by make bench."}}', job)
  return wrk.format("POST", "/api/applications", {{["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[candidate]}}, body)
end
"""


def dashboard(tokens: Sequence[str]) -> str:
    """GET /api/analytics/dashboard for a rotating set of candidates."""
    return THREAD_IDS + f"""
local tokens = {lua_list(tokens)}
function init(args) n = id or 0 end
request = function()
  n = n + 1
  return wrk.format("GET", "/api/analytics/dashboard",
                    {{["Authorization"] = "Bearer " .. tokens[n % #tokens + 1]}})
end
"""
