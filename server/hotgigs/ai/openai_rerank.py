"""Optional re-ranking by OpenAI (only with OPENAI_API_KEY set): the offline top results are
sent with a short profile; the model answers an order of ids. Any failure (timeout, error
status, malformed answer) falls back to the offline order. The key never appears in logs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx
import structlog

from hotgigs.settings import Settings

log = structlog.get_logger(__name__)

TOP = 20
SYSTEM = ("You rank job postings for a candidate. Answer only JSON: "
          '{"ranking": [<posting ids, best first>]}. Use every id exactly once.')


class OpenAiReranker:
    def __init__(self, settings: Settings) -> None:
        if settings.openai_api_key is None:
            raise ValueError("OPENAI_API_KEY is not set")
        self._key = settings.openai_api_key
        self.url = f"{settings.openai_base_url}/chat/completions"
        self.model = settings.openai_model
        self.timeout = settings.openai_timeout_seconds

    def rerank(self, profile: str, items: Sequence[tuple[int, str]]) -> list[int] | None:
        """The model's order of `items` ids, or None to keep the offline order."""
        if len(items) < 2:
            return None
        listing = "\n".join(f"{ident}: {text[:400]}" for ident, text in items[:TOP])
        payload = {"model": self.model, "temperature": 0,
                   "response_format": {"type": "json_object"},
                   "messages": [{"role": "system", "content": SYSTEM},
                                {"role": "user", "content": f"Candidate: {profile}\n\n"
                                                            f"Postings:\n{listing}"}]}
        try:
            response = httpx.post(self.url, json=payload, timeout=self.timeout,
                                  headers={"Authorization": f"Bearer {self._key}"})
            response.raise_for_status()
            content = response.json()["choices"][0]["message"]["content"]
            ranking = [int(i) for i in json.loads(content)["ranking"]]
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as error:
            log.warning("openai_rerank_fallback", error_type=type(error).__name__)
            return None
        known = [ident for ident, _ in items[:TOP]]
        ordered = [i for i in dict.fromkeys(ranking) if i in known]
        return ordered + [i for i in known if i not in ordered]


def apply_order(keys: Sequence[int], order: list[int] | None) -> list[int]:
    """`keys` reordered: the model's order for the top, the offline order for the rest."""
    if not order:
        return list(keys)
    top = set(order)
    return order + [k for k in keys if k not in top]
