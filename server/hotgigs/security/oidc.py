"""Who an identity provider says a token belongs to: ID tokens verified against the provider's
published keys (OpenID Connect), access tokens checked at a userinfo endpoint (GitHub-style).

ID tokens (PyJWT): the header's `alg` must be an asymmetric algorithm (`oidc_providers.ALGORITHMS`:
never `none`, never HS* with a public key as the secret); the key is the one of the issuer's
JWKS (discovery document -> `jwks_uri`) with the token's `kid`; then signature, `iss` (the
configured issuer), `aud` (one of the configured client ids; `azp` too when there are several
audiences), `exp`/`iat` (with `oidc_clock_leeway_seconds`), `sub`, and `nonce` when the client
sends one. Keys are cached for `oidc_jwks_cache_seconds`; a token with an unknown `kid` (the
provider rotated its keys) refetches them, at most once per `oidc_jwks_min_refresh_seconds`
per provider, so a flood of forged tokens costs the provider nothing.

Outbound HTTP is bounded: https only (http to loopback only with
`HOTGIGS_OIDC_ALLOW_HTTP_LOOPBACK`, development and tests), no redirects, every request within
`oidc_http_timeout_seconds`, answers of at most `MAX_RESPONSE_BYTES`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import json
import threading
import time
from typing import Any, Final

import httpx
import jwt
import structlog

from hotgigs.errors import FieldViolation, InvalidArgument, Unauthenticated, Unavailable
from hotgigs.security.oidc_providers import ALGORITHMS, USERINFO, OidcProvider, check_url
from hotgigs.settings import Settings

log = structlog.get_logger(__name__)

MAX_TOKEN_CHARS: Final = 16 * 1024  # real ID and access tokens are 1-3 KiB
MAX_RESPONSE_BYTES: Final = 512 * 1024  # discovery, JWKS and userinfo answers
MAX_KEYS: Final = 50  # keys kept from one JWKS
RETRY_AFTER_SECONDS: Final = 5.0


@dataclasses.dataclass(frozen=True)
class ExternalIdentity:
    """The account at the provider a verified token belongs to."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    given_name: str | None = None
    family_name: str | None = None
    name: str | None = None


@dataclasses.dataclass
class _Keys:
    keys: dict[str | None, jwt.PyJWK]
    fetched_at: float


class OidcVerifier:
    """Verifies provider tokens; one per process (its key cache is shared by all threads)."""

    def __init__(self, settings: Settings) -> None:
        self.providers = {provider.name: provider for provider in settings.oidc_providers}
        self.timeout = settings.oidc_http_timeout_seconds
        self.cache_seconds = settings.oidc_jwks_cache_seconds
        self.min_refresh_seconds = settings.oidc_jwks_min_refresh_seconds
        self.leeway = settings.oidc_clock_leeway_seconds
        self._keys: dict[str, _Keys] = {}
        self._last_fetch: dict[str, float] = {}
        self._lock = threading.Lock()

    # ---- entry points --------------------------------------------------------------------
    def provider(self, name: str) -> OidcProvider:
        """The configured provider called `name`, or INVALID_ARGUMENT naming those there are."""
        provider = self.providers.get(name.strip().lower())
        if provider is None:
            configured = ", ".join(sorted(self.providers)) or "none"
            raise InvalidArgument(
                "This identity provider is not configured on this server",
                [FieldViolation("provider", f"is not configured here (configured: {configured})")],
                reason="OIDC_PROVIDER_NOT_CONFIGURED")
        return provider

    def identify(self, provider: OidcProvider, *, token: str, nonce: str = "") -> ExternalIdentity:
        """The identity `token` proves at `provider` (an ID token, or an access token for a
        userinfo provider)."""
        field = "access_token" if provider.kind == USERINFO else "id_token"
        if not token:
            raise InvalidArgument("A token from the provider is required",
                                  [FieldViolation(field, "is required")])
        if len(token) > MAX_TOKEN_CHARS or not token.isascii() or not token.isprintable() \
                or " " in token:
            raise InvalidArgument("The provider's token is malformed",
                                  [FieldViolation(field, f"must be at most {MAX_TOKEN_CHARS} "
                                                         "printable ASCII characters")],
                                  reason="OIDC_TOKEN_MALFORMED")
        if provider.kind == USERINFO:
            return self._userinfo(provider, token)
        return self._id_token(provider, token, nonce)

    # ---- ID tokens -----------------------------------------------------------------------
    def _id_token(self, provider: OidcProvider, token: str, nonce: str) -> ExternalIdentity:
        header = _jwt_header(token)
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise _invalid(f"the ID token's algorithm {str(algorithm)[:20]!r} is not accepted")
        kid = header.get("kid")
        key = self._key(provider, kid if isinstance(kid, str) else None)
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[algorithm], audience=list(provider.client_ids),
                issuer=list(provider.issuers), leeway=self.leeway,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The ID token has expired; sign in at the provider again",
                                  reason="OIDC_TOKEN_EXPIRED") from None
        except jwt.InvalidAudienceError:
            raise _invalid("the ID token was issued to another application (audience)") from None
        except jwt.InvalidIssuerError:
            raise _invalid("the ID token was issued by another issuer") from None
        except jwt.InvalidSignatureError:
            raise _invalid("the ID token's signature is wrong") from None
        except jwt.PyJWTError as error:
            raise _invalid(f"the ID token is not valid ({type(error).__name__})") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") not in provider.client_ids:
            raise _invalid("the ID token was issued to another application (azp)")
        if nonce and not hmac.compare_digest(str(claims.get("nonce", "")).encode(),
                                             nonce.encode()):
            raise _invalid("the ID token's nonce is not the one sent")
        return _identity(provider, claims, subject=claims["sub"],
                         email_verified=claims.get("email_verified"))

    def _key(self, provider: OidcProvider, kid: str | None) -> jwt.PyJWK:
        now = time.monotonic()
        with self._lock:
            cached = self._keys.get(provider.name)
        if cached is None or now - cached.fetched_at > self.cache_seconds:
            cached = self._refresh(provider, force=cached is None)
        if kid not in cached.keys:
            cached = self._refresh(provider, force=False)
        key = cached.keys.get(kid)
        if key is None and kid is None and len(cached.keys) == 1:
            key = next(iter(cached.keys.values()))
        if key is None:
            raise _invalid("the ID token is signed with a key the provider does not publish")
        return key

    def _refresh(self, provider: OidcProvider, *, force: bool) -> _Keys:
        """The provider's keys, fetched again unless that was done less than
        `min_refresh_seconds` ago (then the cached ones)."""
        with self._lock:
            cached = self._keys.get(provider.name)
            last = self._last_fetch.get(provider.name)
            now = time.monotonic()
            if cached is not None and not force and last is not None \
                    and now - last < self.min_refresh_seconds:
                return cached
            self._last_fetch[provider.name] = now
        document = self._get_json(f"{provider.issuer}/.well-known/openid-configuration", provider)
        if not isinstance(document, dict) or document.get("issuer") != provider.issuer:
            raise _unavailable(provider, "its discovery document names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or check_url(
                jwks_uri, allow_http_loopback=provider.allow_http_loopback):
            raise _unavailable(provider, "its discovery document has no usable jwks_uri")
        jwks = self._get_json(jwks_uri, provider)
        keys: dict[str | None, jwt.PyJWK] = {}
        for data in (jwks.get("keys") if isinstance(jwks, dict) else None) or []:
            if len(keys) >= MAX_KEYS:
                break
            if not isinstance(data, dict) or data.get("use", "sig") != "sig" \
                    or data.get("kty") == "oct":  # a shared secret is never a provider's key
                continue
            try:
                keys[data.get("kid")] = jwt.PyJWK(data)
            except jwt.PyJWTError:
                continue  # a key type this PyJWT cannot use
        fresh = _Keys(keys, time.monotonic())
        with self._lock:
            self._keys[provider.name] = fresh
        log.info("oidc_keys_fetched", provider=provider.name, keys=len(keys))
        return fresh

    # ---- userinfo (GitHub-style) ---------------------------------------------------------
    def _userinfo(self, provider: OidcProvider, token: str) -> ExternalIdentity:
        auth = {"authorization": f"Bearer {token}"}
        info = self._get_json(provider.userinfo_url, provider, headers=auth)
        if not isinstance(info, dict):
            raise _unavailable(provider, "its userinfo answer is not a JSON object")
        subject = info.get(provider.subject_claim)
        email, verified = info.get("email"), info.get("email_verified")
        if provider.emails_url:
            email, verified = _primary_email(self._get_json(provider.emails_url, provider,
                                                            headers=auth))
        return _identity(provider, info, subject=subject, email=email, email_verified=verified)

    # ---- HTTP ----------------------------------------------------------------------------
    def _get_json(self, url: str, provider: OidcProvider,
                  headers: dict[str, str] | None = None) -> Any:
        problem = check_url(url, allow_http_loopback=provider.allow_http_loopback)
        if problem:
            raise _unavailable(provider, problem)
        deadline = time.monotonic() + self.timeout
        try:  # a client per request: nothing stays open between sign-ins
            with httpx.Client(timeout=httpx.Timeout(self.timeout), follow_redirects=False) as http, \
                    http.stream("GET", url, headers={"accept": "application/json",
                                                     "user-agent": "hotgigs-oidc",
                                                     **(headers or {})}) as answer:
                if answer.status_code in (401, 403) and headers:
                    raise _invalid("the provider did not accept the access token")
                if answer.status_code != 200:
                    raise _unavailable(provider, f"{url} answered HTTP {answer.status_code}")
                if _length(answer) > MAX_RESPONSE_BYTES:
                    raise _unavailable(provider, f"{url} answered more than allowed")
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise _unavailable(provider, f"{url} answered more than allowed")
                    if time.monotonic() > deadline:
                        raise _unavailable(provider, f"{url} answered too slowly")
        except httpx.HTTPError as error:
            raise _unavailable(provider, f"{url}: {type(error).__name__}") from None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
            raise _unavailable(provider, f"{url} did not answer JSON") from None


def _length(answer: httpx.Response) -> int:
    try:
        return int(answer.headers.get("content-length") or 0)
    except ValueError:
        return 0  # then counted while read


def _jwt_header(token: str) -> dict[str, Any]:
    """The header of a token shaped like a JWS (three base64url parts, a JSON object as header
    and as payload), else INVALID_ARGUMENT: nothing is verified yet."""
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not three parts")
        header, payload = (json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
                           for part in parts[:2])
        if not isinstance(header, dict) or not isinstance(payload, dict):
            raise ValueError("not JSON objects")
    except (ValueError, binascii.Error):
        raise InvalidArgument("The ID token is not a JWT",
                              [FieldViolation("id_token", "is not a signed JWT")],
                              reason="OIDC_TOKEN_MALFORMED") from None
    return header


def _primary_email(emails: Any) -> tuple[str | None, bool]:
    """GitHub's /user/emails: the primary address and whether GitHub verified it."""
    for entry in emails if isinstance(emails, list) else []:
        if isinstance(entry, dict) and entry.get("primary") is True:
            return entry.get("email"), entry.get("verified") is True
    return None, False


def _identity(provider: OidcProvider, claims: dict[str, Any], *, subject: Any,
              email_verified: Any, email: Any = None) -> ExternalIdentity:
    if isinstance(subject, bool) or not isinstance(subject, str | int) or not str(subject) \
            or len(str(subject)) > 255:
        raise _invalid("the provider's answer has no usable subject")
    email = claims.get("email") if email is None else email

    def text(name: str) -> str | None:
        value = claims.get(name)
        return value if isinstance(value, str) else None

    return ExternalIdentity(
        provider=provider.name, subject=str(subject),
        email=email if isinstance(email, str) else None,
        # Some providers send the flag as a string.
        email_verified=email_verified is True or email_verified == "true",
        given_name=text("given_name"), family_name=text("family_name"),
        name=text("name") or text("login"))


def _invalid(why: str) -> Unauthenticated:
    return Unauthenticated(f"The provider's token was refused: {why}", reason="OIDC_TOKEN_INVALID")


def _unavailable(provider: OidcProvider, why: str) -> Unavailable:
    log.warning("oidc_provider_unavailable", provider=provider.name, problem=why)
    return Unavailable(f"The identity provider {provider.name} cannot be used right now",
                       retry_after_seconds=RETRY_AFTER_SECONDS, reason="OIDC_PROVIDER_UNAVAILABLE")
