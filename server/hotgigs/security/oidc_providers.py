"""The identity providers `POST /api/auth/oauth` accepts: their configuration and presets.

Two kinds:
  oidc      OpenID Connect: the client sends the provider's ID token (a JWT); it is verified
            against the keys the issuer publishes (discovery document -> jwks_uri): signature,
            issuer, audience (one of the configured client ids), expiry, nonce when sent.
  userinfo  OAuth 2 without ID tokens (GitHub): the client sends an access token; the server
            asks the provider's userinfo endpoint who it belongs to. The provider does not say
            which application the token was issued to, so any application the user gave a
            token to could sign in as them here: enable such a provider knowingly.

Presets (`HOTGIGS_OIDC_<NAME>_PRESET`, default the provider's name when it is one of these,
else `oidc`): `google` (issuer https://accounts.google.com), `github` (userinfo at
https://api.github.com/user, verified e-mail from /user/emails), `oidc` and `userinfo` (give
the URLs yourself). Parsed from the environment by `hotgigs.settings` only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit

OIDC, USERINFO = "oidc", "userinfo"
NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# Asymmetric signatures only: `none` and HS* (which would take the public key as a shared
# secret) are never accepted.
ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                     "ES512", "EdDSA")


@dataclasses.dataclass(frozen=True)
class OidcProvider:
    """One configured identity provider."""

    name: str  # what the request's `provider` says, e.g. google
    kind: str  # OIDC or USERINFO
    issuer: str = ""  # oidc: the `iss` its ID tokens carry; discovery at issuer + /.well-known/...
    client_ids: tuple[str, ...] = ()  # oidc: accepted audiences (`aud`)
    issuer_aliases: tuple[str, ...] = ()  # further accepted `iss` values (Google's bare host)
    userinfo_url: str = ""  # userinfo: who the access token belongs to
    emails_url: str = ""  # userinfo: GitHub's list of addresses with their `verified` flag
    subject_claim: str = "sub"  # userinfo: the stable account id in the userinfo answer
    allow_http_loopback: bool = False  # development/test: http:// to 127.0.0.1 allowed

    @property
    def issuers(self) -> tuple[str, ...]:
        return (self.issuer, *self.issuer_aliases)


@dataclasses.dataclass(frozen=True)
class Preset:
    kind: str
    issuer: str = ""
    issuer_aliases: tuple[str, ...] = ()
    userinfo_url: str = ""
    emails_url: str = ""
    subject_claim: str = "sub"


PRESETS: Final = {
    "google": Preset(OIDC, issuer="https://accounts.google.com",
                     issuer_aliases=("accounts.google.com",)),
    "github": Preset(USERINFO, userinfo_url="https://api.github.com/user",
                     emails_url="https://api.github.com/user/emails", subject_claim="id"),
    OIDC: Preset(OIDC),
    USERINFO: Preset(USERINFO),
}


def check_url(url: str, *, allow_http_loopback: bool) -> str | None:
    """Why `url` may not be fetched (None when it may): https only, except http to a
    loopback address when allowed (development and tests)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return None
    if parts.scheme == "http" and allow_http_loopback and (
            host == "localhost" or host == "::1" or host.startswith("127.")):
        return None
    return f"{url!r} is not an https:// URL" + (
        " (http:// only to a loopback address)" if allow_http_loopback else "")


def parse(get: Callable[[str], str | None], *, allow_http_loopback: bool
          ) -> tuple[OidcProvider, ...]:
    """The providers named in HOTGIGS_OIDC_PROVIDERS with their HOTGIGS_OIDC_<NAME>_* settings.
    Raises ValueError naming the variable when one is wrong."""
    names = [n.strip().lower() for n in (get("HOTGIGS_OIDC_PROVIDERS") or "").split(",")
             if n.strip()]
    providers = []
    for name in names:
        if not NAME.match(name):
            raise ValueError(f"HOTGIGS_OIDC_PROVIDERS: {name!r} is not a provider name "
                             "(a-z, 0-9 and _, at most 32 characters, starting with a letter)")
        providers.append(_provider(name, get, allow_http_loopback=allow_http_loopback))
    if len(set(names)) != len(names):
        raise ValueError("HOTGIGS_OIDC_PROVIDERS: a provider is named twice")
    return tuple(providers)


def _provider(name: str, get: Callable[[str], str | None], *, allow_http_loopback: bool
              ) -> OidcProvider:
    prefix = f"HOTGIGS_OIDC_{name.upper()}_"
    preset_name = (get(prefix + "PRESET") or (name if name in PRESETS else OIDC)).lower()
    preset = PRESETS.get(preset_name)
    if preset is None:
        raise ValueError(f"{prefix}PRESET={preset_name!r}: expected one of {', '.join(PRESETS)}")
    client_ids = tuple(c.strip() for c in (get(prefix + "CLIENT_IDS") or "").split(",")
                       if c.strip())
    provider = OidcProvider(
        name=name, kind=preset.kind, issuer=(get(prefix + "ISSUER") or preset.issuer).rstrip("/"),
        client_ids=client_ids, issuer_aliases=preset.issuer_aliases,
        userinfo_url=get(prefix + "USERINFO_URL") or preset.userinfo_url,
        emails_url=get(prefix + "EMAILS_URL") or preset.emails_url,
        subject_claim=preset.subject_claim, allow_http_loopback=allow_http_loopback)
    if provider.kind == OIDC:
        if not provider.issuer:
            raise ValueError(f"{prefix}ISSUER is required for an OpenID Connect provider")
        if not client_ids:
            raise ValueError(f"{prefix}CLIENT_IDS is required for an OpenID Connect provider "
                             "(the client ids its ID tokens must be issued to)")
        urls = {"ISSUER": provider.issuer}
    else:
        if not provider.userinfo_url:
            raise ValueError(f"{prefix}USERINFO_URL is required for a userinfo provider")
        urls = {"USERINFO_URL": provider.userinfo_url, "EMAILS_URL": provider.emails_url}
    for variable, url in urls.items():
        problem = url and check_url(url, allow_http_loopback=allow_http_loopback)
        if problem:
            raise ValueError(f"{prefix}{variable}: {problem}")
    return provider
