"""JSON Web Tokens (PyJWT, HS256): short-lived access tokens and single-use refresh tokens.

Claims: `sub` (user id), `role`, `sid` (login session), `jti` (token id), `typ` (access or
refresh), `iat`, `exp`, `iss`. Decoding accepts HS256 only (so `alg: none` and algorithm
confusion fail), checks the signature, expiry, issuer and the token kind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from typing import Any

import jwt

from hotgigs.errors import Unauthenticated

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
    """Issues and verifies tokens with one secret."""

    def __init__(self, secret: str, *, access_ttl_seconds: int, refresh_ttl_seconds: int) -> None:
        self._secret = secret
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
        return IssuedToken(jwt.encode(payload, self._secret, algorithm=ALGORITHM), token_id, expires)

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
        try:
            payload = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
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


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
