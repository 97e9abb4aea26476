"""A real local OpenID Connect provider (npm `oidc-provider`, run by node from
tests/support/oidc_provider.mjs) and a client that drives its authorization-code flow with
PKCE over HTTP, as a browser and a web app would, to get real ID and access tokens."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import secrets
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from hotgigs.dev.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
REDIRECT_URI = "http://127.0.0.1/callback"
WEB_CLIENT, OTHER_CLIENT, SHORT_CLIENT = "hotgigs-web", "other-app", "hotgigs-short"


@dataclasses.dataclass
class LocalProvider:
    """One running provider: where it listens, the issuer it signs as, its key id."""

    process: subprocess.Popen[str]
    base_url: str
    issuer: str
    kid: str

    def sign_in(self, login: str, *, client_id: str = WEB_CLIENT,
                nonce: str | None = None) -> dict[str, Any]:
        """The provider's token answer (`id_token`, `access_token`, ...) for account `login`
        after the authorization-code flow with PKCE (S256)."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()) \
            .rstrip(b"=").decode()
        params = {"client_id": client_id, "response_type": "code", "redirect_uri": REDIRECT_URI,
                  "scope": "openid email profile", "state": secrets.token_urlsafe(8),
                  "code_challenge": challenge, "code_challenge_method": "S256",
                  "login_hint": login}
        if nonce is not None:
            params["nonce"] = nonce
        with httpx.Client(base_url=self.base_url, timeout=10, follow_redirects=False) as http:
            target = f"/auth?{urlencode(params)}"
            for _ in range(10):
                answer = http.get(target)
                assert answer.status_code in (302, 303), (answer.status_code, answer.text[:500])
                location = answer.headers["location"]
                if location.startswith(REDIRECT_URI):
                    query = parse_qs(urlsplit(location).query)
                    assert "code" in query, location
                    code = query["code"][0]
                    break
                parts = urlsplit(location)  # the provider's own URL: stay on this instance
                target = parts.path + (f"?{parts.query}" if parts.query else "")
            else:
                raise AssertionError("the authorization flow did not end at the redirect URI")
            tokens = http.post("/token", data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                "client_id": client_id, "code_verifier": verifier})
            assert tokens.status_code == 200, tokens.text
            body: dict[str, Any] = tokens.json()
            return body


@contextlib.contextmanager
def start_provider(log_path: Path, *, issuer: str | None = None) -> Iterator[LocalProvider]:
    """A provider on a free loopback port, signing as `issuer` (default: its own URL)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("a") as log:
        process = subprocess.Popen(["node", str(SCRIPT), str(port), issuer or base_url],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert process.stdout is not None
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(process.stdout.readline()),  # type: ignore[union-attr]
                                  daemon=True)
        reader.start()
        reader.join(30)
        line = first[0] if first else ""
        assert line.startswith("listening "), f"oidc-provider did not start: {line!r}, see {log_path}"
        _, _, kid = line.split()
        yield LocalProvider(process, base_url, issuer or base_url, kid)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
