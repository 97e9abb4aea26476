"""JSON Web Tokens (PyJWT, HS256): short-lived access tokens and single-use refresh tokens.

Claims: `sub` (user id), `role`, `sid` (login session), `jti` (token id), `typ` (access or
refresh), `iat`, `exp`, `iss`. Decoding accepts HS256 only (so `alg: none` and algorithm
confusion fail), checks the signature, expiry, issuer and the token kind.

Keys (issue 18 item 5): with a key set (`hotgigs.security.jwt_keys`) whose signing key is set,
tokens carry that key's id in the `kid` header and any key of the set that is not retired
verifies them. A token without `kid` (issued by `JWT_SECRET_KEY` alone, before the key set, or
while none signs) verifies against `JWT_SECRET_KEY`. An unknown or retired kid is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from typing import Any

import jwt

from hotgigs.errors import Unauthenticated
from hotgigs.security.jwt_keys import KeySet

ALGORITHM = "HS256"
ISSUER = "hotgigs"
ACCESS, REFRESH = "access", "refresh"
_REQUIRED = ["exp", "iat", "sub", "jti", "typ", "sid", "iss"]


@dataclasses.dataclass(frozen=True)
class Claims:
    """The verified content of a token."""

    user_id: int
    role: str
    session_id: str
    token_id: str
    kind: str
    expires_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class IssuedToken:
    token: str
    token_id: str
    expires_at: dt.datetime


class TokenService:
    """Issues tokens with the signing key (or `secret`) and verifies them with the key set."""

    def __init__(self, secret: str, *, access_ttl_seconds: int, refresh_ttl_seconds: int,
                 key_set: KeySet | None = None) -> None:
        self._secret = secret  # JWT_SECRET_KEY: tokens without kid
        keys = key_set or KeySet()
        self._verifying = {key.kid: key.secret for key in keys.keys if not key.retired}
        self._retired = frozenset(key.kid for key in keys.keys if key.retired)
        signing = keys.signing
        self.signing_kid = signing.kid if signing else None
        self._signing_secret = signing.secret if signing else secret
        self.access_ttl_seconds = access_ttl_seconds
        self.refresh_ttl_seconds = refresh_ttl_seconds

    def _issue(self, *, user_id: int, role: str, session_id: str, kind: str, ttl: int,
               now: dt.datetime | None) -> IssuedToken:
        issued = now or dt.datetime.now(dt.UTC)
        expires = issued + dt.timedelta(seconds=ttl)
        token_id = secrets.token_urlsafe(16)
        payload: dict[str, Any] = {
            "sub": str(user_id), "role": role, "sid": session_id, "jti": token_id, "typ": kind,
            "iat": int(issued.timestamp()), "exp": int(expires.timestamp()), "iss": ISSUER,
        }
        headers = {"kid": self.signing_kid} if self.signing_kid else None
        token = jwt.encode(payload, self._signing_secret, algorithm=ALGORITHM, headers=headers)
        return IssuedToken(token, token_id, expires)

    def issue_access(self, *, user_id: int, role: str, session_id: str,
                     now: dt.datetime | None = None) -> IssuedToken:
        return self._issue(user_id=user_id, role=role, session_id=session_id, kind=ACCESS,
                           ttl=self.access_ttl_seconds, now=now)

    def issue_refresh(self, *, user_id: int, role: str, session_id: str,
                      now: dt.datetime | None = None) -> IssuedToken:
        return self._issue(user_id=user_id, role=role, session_id=session_id, kind=REFRESH,
                           ttl=self.refresh_ttl_seconds, now=now)

    def decode(self, token: str, *, kind: str) -> Claims:
        """Verify `token` and return its claims; any problem is `Unauthenticated`."""
        secret = self._verifying_secret(token)
        try:
            payload = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                 options={"require": _REQUIRED})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("Token has expired", reason="TOKEN_EXPIRED") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("Invalid token", reason="TOKEN_INVALID") from None
        if payload.get("typ") != kind:
            raise Unauthenticated(f"Expected an {kind} token", reason="TOKEN_WRONG_KIND")
        try:
            return Claims(user_id=int(payload["sub"]), role=str(payload["role"]),
                          session_id=str(payload["sid"]), token_id=str(payload["jti"]), kind=kind,
                          expires_at=dt.datetime.fromtimestamp(int(payload["exp"]), dt.UTC))
        except (KeyError, ValueError, TypeError):
            raise Unauthenticated("Invalid token", reason="TOKEN_INVALID") from None

    def _verifying_secret(self, token: str) -> str:
        """The secret for the token's `kid` header (JWT_SECRET_KEY without one)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            raise Unauthenticated("Invalid token", reason="TOKEN_INVALID") from None
        if kid is None:
            return self._secret
        if not isinstance(kid, str):
            raise Unauthenticated("Invalid token", reason="TOKEN_INVALID")
        secret = self._verifying.get(kid)
        if secret is not None:
            return secret
        if kid in self._retired:
            raise Unauthenticated("Token signed with a retired key", reason="TOKEN_KEY_RETIRED")
        raise Unauthenticated("Token signed with an unknown key", reason="TOKEN_KEY_UNKNOWN")


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
