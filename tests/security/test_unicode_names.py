"""Names may hold Unicode format characters (issue 12, item 16): zero-width joiners in emoji
sequences and Persian words are text; bidi overrides, isolates, separators and control
characters are still refused."""

from __future__ import annotations

import httpx
import pytest

from hotgigs.validation import has_control_characters
from tests.support.rest import STRONG_PASSWORD, unique_email

WOMAN_TECHNOLOGIST = "\U0001f469\u200d\U0001f4bb"  # ZWJ sequence
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # mi-khaham, with a ZWNJ


def register_named(rest: httpx.Client, first: str, last: str = "Doe") -> httpx.Response:
    return rest.post("/api/auth/register", json={
        "email": unique_email(), "password": STRONG_PASSWORD, "first_name": first,
        "last_name": last, "user_type": "candidate"})


@pytest.mark.parametrize("name", [f"Ada {WOMAN_TECHNOLOGIST}", FAMILY, PERSIAN,
                                  "Zo\u00adë", "Ren\u00e9e"])
def test_names_with_format_characters_are_accepted_unchanged(rest: httpx.Client,
                                                             name: str) -> None:
    response = register_named(rest, name, last=PERSIAN)
    assert response.status_code == 201, response.text
    assert response.json()["user"]["first_name"] == name
    assert response.json()["user"]["last_name"] == PERSIAN


@pytest.mark.parametrize("name", ["Eve\u202egnp.exe", "Eve\u202d", "\u2066Eve\u2069",
                                  "Eve\u2067x", "Eve\u2028Doe", "Eve\u2029Doe", "Ev\u0007e",
                                  "Ev\u0085e", "Ev\u001be"])
def test_bidi_controls_separators_and_controls_are_refused(rest: httpx.Client,
                                                          name: str) -> None:
    response = register_named(rest, name)
    assert response.status_code == 400, response.text
    assert "must not contain control characters" in response.text


def test_multiline_text_keeps_newlines_and_separators() -> None:
    assert not has_control_characters("line one\nline two\u2028three\tx", multiline=True)
    assert has_control_characters("line one\u202e", multiline=True)
