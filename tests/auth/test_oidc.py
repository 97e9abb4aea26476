"""Issue 20 item 1: sign-in with OpenID Connect at POST /api/auth/oauth, against a REAL local
provider (npm oidc-provider, driven through its authorization-code flow with PKCE), through
Envoy, on a server of this module's own configured with that provider."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import free_port
from hotgigs.grpc_server.server import create_server
from hotgigs.models import AuditEntry, User, UserIdentity
from hotgigs.security import oidc_providers
from hotgigs.settings import Settings
from tests.support.oidc import OTHER_CLIENT, SHORT_CLIENT, LocalProvider, start_provider
from tests.support.rest import STRONG_PASSWORD, bearer, register
from tests.support.servers import make_settings, start_envoy

LEEWAY = 1  # seconds of clock leeway on this server, so a 1-second ID token expires quickly


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProvider]:
    with start_provider(tmp_path_factory.mktemp("oidc") / "provider.log") as running:
        yield running


@pytest.fixture(scope="module")
def rogue(provider: LocalProvider, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[LocalProvider]:
    """A second instance signing as the same issuer, with a key the first does not publish."""
    with start_provider(tmp_path_factory.mktemp("rogue") / "provider.log",
                        issuer=provider.issuer) as running:
        yield running


def provider_settings(provider: LocalProvider, dead_port: int) -> Settings:
    """The providers as an operator configures them (parsed from the environment)."""
    environ = {
        "HOTGIGS_OIDC_PROVIDERS": "local,localinfo,down",
        "HOTGIGS_OIDC_LOCAL_ISSUER": provider.issuer,
        "HOTGIGS_OIDC_LOCAL_CLIENT_IDS": "hotgigs-web, hotgigs-short",
        "HOTGIGS_OIDC_LOCALINFO_PRESET": "userinfo",
        "HOTGIGS_OIDC_LOCALINFO_USERINFO_URL": f"{provider.base_url}/me",
        "HOTGIGS_OIDC_DOWN_ISSUER": f"http://127.0.0.1:{dead_port}",
        "HOTGIGS_OIDC_DOWN_CLIENT_IDS": "hotgigs-web",
    }
    return Settings(oidc_providers=oidc_providers.parse(environ.get, allow_http_loopback=True))


@pytest.fixture(scope="module")
def rest(provider: LocalProvider, database: Database, cache: Cache,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    workdir = tmp_path_factory.mktemp("oidc-server")
    configured = provider_settings(provider, free_port())
    settings = make_settings(workdir, oidc_providers=configured.oidc_providers,
                             oidc_allow_http_loopback=True, oidc_clock_leeway_seconds=LEEWAY,
                             auth_rate_limit_per_minute=100_000, auth_rate_limit_per_hour=100_000,
                             rate_limit_per_minute=100_000, rate_limit_per_hour=100_000)
    server = create_server(settings, database, cache)
    server.start()
    try:
        with start_envoy(settings, server.port, workdir / "envoy") as envoy, \
                httpx.Client(base_url=envoy.base_url, timeout=20) as client:
            yield client
    finally:
        server.stop(0)


def fresh_login() -> str:
    """A provider account nobody used yet (its e-mail is <login>@example.com, verified)."""
    return f"u{uuid.uuid4().hex[:12]}"


def oauth(rest: httpx.Client, body: dict[str, Any], **headers: str) -> httpx.Response:
    return rest.post("/api/auth/oauth", json={"provider": "local", **body}, headers=headers)


def reason(answer: httpx.Response) -> str:
    return next(d["reason"] for d in answer.json().get("details", []) if "reason" in d)


def identities(rest: httpx.Client, account: dict[str, Any]) -> dict[str, Any]:
    answer = rest.get("/api/users/profile/identities", headers=bearer(account))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def password_login(rest: httpx.Client, email: str) -> httpx.Response:
    return rest.post("/api/auth/login", json={"email": email, "password": STRONG_PASSWORD})


def verify_email(database: Database, email: str) -> None:
    with database.session_scope() as session:
        session.execute(sa.update(User).where(User.email == email)
                        .values(email_verified_at=sa.func.now()))


class TestFirstAndLaterSignIns:
    def test_first_sign_in_creates_the_account_and_the_second_logs_in(
            self, rest: httpx.Client, provider: LocalProvider, database: Database) -> None:
        login = fresh_login()
        first = oauth(rest, {"id_token": provider.sign_in(login)["id_token"],
                             "user_type": "candidate"})
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["message"] == "User registered successfully"
        assert body["created"] is True
        user = body["user"]
        assert user["email"] == f"{login}@example.com"
        assert user["user_type"] == "candidate"
        assert user["first_name"] == login.capitalize()
        assert user["last_name"] == "Tester"
        # The password sign-in's tokens: /me answers, the refresh token rotates.
        me = rest.get("/api/auth/me", headers=bearer(body))
        assert me.status_code == 200 and me.json()["user"]["id"] == user["id"]
        refreshed = rest.post("/api/auth/refresh", json={"refresh_token": body["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        # The original clients send the ID token as access_token: the same account logs in.
        second = oauth(rest, {"access_token": provider.sign_in(login)["id_token"]})
        assert second.status_code == 200, second.text
        assert second.json()["message"] == "Login successful"
        assert "created" not in second.json() or second.json()["created"] is False
        assert second.json()["user"]["id"] == user["id"]
        with database.session_scope() as session:
            row = session.scalar(sa.select(User).where(User.id == user["id"]))
            assert row is not None and row.email_verified_at is not None
            assert row.password_hash.startswith("!")  # no password: nothing to guess
        # No password means no password sign-in, answered like a wrong password.
        assert password_login(rest, user["email"]).status_code == 401

    def test_a_first_sign_in_needs_a_user_type_and_never_makes_an_admin(
            self, rest: httpx.Client, provider: LocalProvider, database: Database) -> None:
        login = fresh_login()
        missing = oauth(rest, {"id_token": provider.sign_in(login)["id_token"]})
        assert missing.status_code == 400, missing.text
        assert "user_type" in missing.text
        admin = oauth(rest, {"id_token": provider.sign_in(login)["id_token"],
                             "user_type": "admin"})
        assert admin.status_code == 400, admin.text
        with database.session_scope() as session:
            assert session.scalar(sa.select(User).where(User.email == f"{login}@example.com")) is None
        alias = oauth(rest, {"id_token": provider.sign_in(login)["id_token"],
                             "user_type": "freelance_recruiter"})
        assert alias.status_code == 200, alias.text
        assert alias.json()["user"]["user_type"] == "recruiter"

    def test_a_userinfo_provider_signs_in_with_an_access_token(
            self, rest: httpx.Client, provider: LocalProvider) -> None:
        login = fresh_login()
        tokens = provider.sign_in(login)
        first = rest.post("/api/auth/oauth", json={"provider": "localinfo",
                                                   "access_token": tokens["access_token"],
                                                   "user_type": "company"})
        assert first.status_code == 200, first.text
        assert first.json()["user"]["user_type"] == "company"
        assert first.json()["user"]["email"] == f"{login}@example.com"
        bad = rest.post("/api/auth/oauth", json={"provider": "localinfo",
                                                 "access_token": "not-a-real-access-token"})
        assert bad.status_code == 401, bad.text
        assert reason(bad) == "OIDC_TOKEN_INVALID"

    def test_the_nonce_is_checked_when_the_client_sends_one(
            self, rest: httpx.Client, provider: LocalProvider) -> None:
        login = fresh_login()
        token = provider.sign_in(login, nonce="n-0123456789")["id_token"]
        wrong = oauth(rest, {"id_token": token, "nonce": "another-nonce", "user_type": "candidate"})
        assert wrong.status_code == 401, wrong.text
        assert "nonce" in wrong.json()["message"]
        right = oauth(rest, {"id_token": token, "nonce": "n-0123456789", "user_type": "candidate"})
        assert right.status_code == 200, right.text


class TestRefusedTokens:
    def test_a_token_for_another_application_is_refused(
            self, rest: httpx.Client, provider: LocalProvider) -> None:
        token = provider.sign_in(fresh_login(), client_id=OTHER_CLIENT)["id_token"]
        assert jwt.decode(token, options={"verify_signature": False})["aud"] == OTHER_CLIENT
        answer = oauth(rest, {"id_token": token, "user_type": "candidate"})
        assert answer.status_code == 401, answer.text
        assert reason(answer) == "OIDC_TOKEN_INVALID"
        assert "audience" in answer.json()["message"]

    def test_an_expired_token_is_refused(self, rest: httpx.Client, provider: LocalProvider) -> None:
        token = provider.sign_in(fresh_login(), client_id=SHORT_CLIENT)["id_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 1
        time.sleep(max(0.0, claims["exp"] + LEEWAY + 1.1 - time.time()))
        answer = oauth(rest, {"id_token": token, "user_type": "candidate"})
        assert answer.status_code == 401, answer.text
        assert reason(answer) == "OIDC_TOKEN_EXPIRED"

    def test_a_token_signed_with_a_key_the_issuer_does_not_publish_is_refused(
            self, rest: httpx.Client, provider: LocalProvider, rogue: LocalProvider) -> None:
        token = rogue.sign_in(fresh_login())["id_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["iss"] == provider.issuer and claims["aud"] == "hotgigs-web"
        assert jwt.get_unverified_header(token)["kid"] == rogue.kid != provider.kid
        answer = oauth(rest, {"id_token": token, "user_type": "candidate"})
        assert answer.status_code == 401, answer.text
        assert "key" in answer.json()["message"]
        # The same key id with the rogue's signature: the signature is what fails.
        header = jwt.get_unverified_header(token)
        forged = jwt.encode(claims, _rsa_private_key(), algorithm="RS256",
                            headers={**header, "kid": provider.kid})
        answer = oauth(rest, {"id_token": forged, "user_type": "candidate"})
        assert answer.status_code == 401, answer.text
        assert "signature" in answer.json()["message"]

    @pytest.mark.parametrize("algorithm", ["none", "HS256"])
    def test_none_and_shared_secret_algorithms_are_refused(
            self, rest: httpx.Client, provider: LocalProvider, algorithm: str) -> None:
        token = provider.sign_in(fresh_login())["id_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        # HS256 "signed" with the provider's public key: the classic algorithm confusion
        # (written out by hand: PyJWT itself refuses to sign with a public key as the secret).
        public = httpx.get(f"{provider.base_url}/jwks").json()["keys"][0]
        pem = jwt.PyJWK(public).key.public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        signing_input = ".".join(_b64(json.dumps(part).encode()) for part in (
            {"alg": algorithm, "typ": "JWT", "kid": provider.kid}, claims))
        signature = b"" if algorithm == "none" else \
            hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
        forged = f"{signing_input}.{_b64(signature)}"
        answer = oauth(rest, {"id_token": forged, "user_type": "candidate"})
        assert answer.status_code == 401, answer.text
        assert "algorithm" in answer.json()["message"]


class TestLinking:
    def test_an_unverified_email_never_opens_an_existing_account(
            self, rest: httpx.Client, provider: LocalProvider, database: Database) -> None:
        login = fresh_login()
        account = register(rest, "candidate", email=f"{login}@example.com")
        token = provider.sign_in(f"{login}~unverified")["id_token"]
        assert jwt.decode(token, options={"verify_signature": False})["email_verified"] is False
        answer = oauth(rest, {"id_token": token, "user_type": "candidate"})
        assert answer.status_code == 400, answer.text
        assert reason(answer) == "OIDC_EMAIL_NOT_VERIFIED"
        assert "access_token" not in answer.json()
        assert identities(rest, account)["identities"] == []
        with database.session_scope() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(User)
                                  .where(User.email == f"{login}@example.com")) == 1
        assert password_login(rest, f"{login}@example.com").status_code == 200

    def test_an_unverified_email_opens_no_new_account_either(
            self, rest: httpx.Client, provider: LocalProvider, database: Database) -> None:
        login = fresh_login()
        answer = oauth(rest, {"id_token": provider.sign_in(f"{login}~unverified")["id_token"],
                              "user_type": "candidate"})
        assert answer.status_code == 400, answer.text
        assert reason(answer) == "OIDC_EMAIL_NOT_VERIFIED"
        with database.session_scope() as session:
            assert session.scalar(sa.select(User).where(User.email == f"{login}@example.com")) is None

    def test_a_verified_email_links_the_existing_password_account(
            self, rest: httpx.Client, provider: LocalProvider, database: Database) -> None:
        login = fresh_login()
        account = register(rest, "company", email=f"{login}@example.com")
        verify_email(database, f"{login}@example.com")
        answer = oauth(rest, {"id_token": provider.sign_in(login)["id_token"],
                              "user_type": "candidate"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["message"] == "Account linked" and body["linked"] is True
        assert body["user"]["id"] == account["user"]["id"]
        assert body["user"]["user_type"] == "company"  # user_type is for new accounts only
        listed = identities(rest, account)
        assert listed["has_password"] is True
        assert [(i["provider"], i["email"]) for i in listed["identities"]] == \
            [("local", f"{login}@example.com")]
        # The password still works, and so does the old session.
        assert password_login(rest, f"{login}@example.com").status_code == 200
        assert rest.get("/api/auth/me", headers=bearer(account)).status_code == 200
        with database.session_scope() as session:
            actions = session.scalars(sa.select(AuditEntry.action).where(
                AuditEntry.target == f"user:{account['user']['id']}")
                .order_by(AuditEntry.id)).all()
        # the link, then the provider's sign-in and the password's (each audited as a login)
        assert actions == ["identity.link", "auth.login", "auth.login"]

    def test_linking_an_account_whose_email_was_never_verified_clears_its_password(
            self, rest: httpx.Client, provider: LocalProvider) -> None:
        """Whoever registered the address first never proved it: their password and sessions
        do not survive the owner's sign-in (pre-account takeover)."""
        login = fresh_login()
        squatter = register(rest, "candidate", email=f"{login}@example.com")
        answer = oauth(rest, {"id_token": provider.sign_in(login)["id_token"]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["user"]["id"] == squatter["user"]["id"]
        assert rest.get("/api/auth/me", headers=bearer(squatter)).status_code == 401
        assert password_login(rest, f"{login}@example.com").status_code == 401
        assert identities(rest, answer.json())["has_password"] is False

    def test_an_admin_account_is_not_linked_by_email(
            self, rest: httpx.Client, provider: LocalProvider, database: Database) -> None:
        login = fresh_login()
        register(rest, "company", email=f"{login}@example.com")
        with database.session_scope() as session:
            session.execute(sa.update(User).where(User.email == f"{login}@example.com")
                            .values(user_type="admin", email_verified_at=sa.func.now()))
        answer = oauth(rest, {"id_token": provider.sign_in(login)["id_token"]})
        assert answer.status_code == 400, answer.text
        assert reason(answer) == "OIDC_ADMIN_LINK_REFUSED"

    def test_a_signed_in_caller_links_an_identity_and_no_one_else_can(
            self, rest: httpx.Client, provider: LocalProvider) -> None:
        account = register(rest, "candidate")  # another e-mail than the provider's
        login = fresh_login()
        token = provider.sign_in(f"{login}~unverified")["id_token"]
        linked = oauth(rest, {"id_token": token}, **bearer(account))
        assert linked.status_code == 200, linked.text
        assert linked.json()["linked"] is True
        assert linked.json()["user"]["id"] == account["user"]["id"]
        later = oauth(rest, {"id_token": provider.sign_in(f"{login}~unverified")["id_token"]})
        assert later.status_code == 200 and later.json()["user"]["id"] == account["user"]["id"]
        other = register(rest, "candidate")
        taken = oauth(rest, {"id_token": provider.sign_in(f"{login}~unverified")["id_token"]},
                      **bearer(other))
        assert taken.status_code == 409, taken.text
        assert reason(taken) == "IDENTITY_LINKED_ELSEWHERE"


class TestUnlinking:
    def test_an_identity_is_listed_and_removed(self, rest: httpx.Client, provider: LocalProvider,
                                              database: Database) -> None:
        login = fresh_login()
        account = register(rest, "candidate", email=f"{login}@example.com")
        verify_email(database, f"{login}@example.com")
        assert oauth(rest, {"id_token": provider.sign_in(login)["id_token"]}).status_code == 200
        [identity] = identities(rest, account)["identities"]
        assert identity["created_at"] and identity["last_used_at"]
        stranger = register(rest, "candidate")
        foreign = rest.delete(f"/api/users/profile/identities/{identity['id']}",
                              headers=bearer(stranger))
        assert foreign.status_code == 404, foreign.text
        removed = rest.delete(f"/api/users/profile/identities/{identity['id']}",
                              headers=bearer(account))
        assert removed.status_code == 200, removed.text
        assert identities(rest, account)["identities"] == []
        with database.session_scope() as session:
            assert session.scalar(sa.select(UserIdentity).where(
                UserIdentity.id == identity["id"])) is None
            actions = session.scalars(sa.select(AuditEntry.action).where(
                AuditEntry.target == f"user:{account['user']['id']}")
                .order_by(AuditEntry.id)).all()
        assert actions == ["identity.link", "auth.login", "identity.unlink"]

    def test_the_last_way_to_sign_in_cannot_be_removed(
            self, rest: httpx.Client, provider: LocalProvider) -> None:
        login = fresh_login()
        body = oauth(rest, {"id_token": provider.sign_in(login)["id_token"],
                            "user_type": "candidate"}).json()
        [identity] = identities(rest, body)["identities"]
        refused = rest.delete(f"/api/users/profile/identities/{identity['id']}",
                              headers=bearer(body))
        assert refused.status_code == 400, refused.text
        assert reason(refused) == "LAST_SIGN_IN_METHOD"
        assert len(identities(rest, body)["identities"]) == 1
        # With a second identity, one of the two may go.
        extra = oauth(rest, {"provider": "localinfo",
                             "access_token": provider.sign_in(fresh_login())["access_token"]},
                      **bearer(body))
        assert extra.status_code == 200, extra.text
        gone = rest.delete(f"/api/users/profile/identities/{identity['id']}", headers=bearer(body))
        assert gone.status_code == 200, gone.text

    def test_identities_need_a_signed_in_caller(self, rest: httpx.Client) -> None:
        assert rest.get("/api/users/profile/identities").status_code == 401
        assert rest.delete("/api/users/profile/identities/1").status_code == 401


class TestHostileInput:
    def test_garbage_is_a_malformed_token(self, rest: httpx.Client) -> None:
        for garbage in ("abc", "a.b.c", "eyJhbGciOiJIUzI1NiJ9..", "x" * 100):
            answer = oauth(rest, {"id_token": garbage, "user_type": "candidate"})
            assert answer.status_code == 400, (garbage, answer.text)
            assert reason(answer) == "OIDC_TOKEN_MALFORMED"

    def test_a_huge_token_is_refused_fast(self, rest: httpx.Client) -> None:
        started = time.monotonic()
        answer = oauth(rest, {"id_token": "e" * 200_000, "user_type": "candidate"})
        elapsed = time.monotonic() - started
        assert answer.status_code == 400, answer.text
        assert reason(answer) == "OIDC_TOKEN_MALFORMED"
        assert elapsed < 2.0  # no provider round trip, no parsing of 200 kB

    def test_a_missing_token_names_the_field(self, rest: httpx.Client) -> None:
        answer = oauth(rest, {"user_type": "candidate"})
        assert answer.status_code == 400, answer.text
        assert "id_token" in answer.text

    def test_an_unknown_provider_is_a_clear_error(self, rest: httpx.Client) -> None:
        answer = rest.post("/api/auth/oauth", json={"provider": "linkedin",
                                                    "access_token": "abc"})
        assert answer.status_code == 400, answer.text
        assert reason(answer) == "OIDC_PROVIDER_NOT_CONFIGURED"
        assert "configured: down, local, localinfo" in answer.text

    def test_an_unreachable_provider_is_503(self, rest: httpx.Client,
                                             provider: LocalProvider) -> None:
        answer = rest.post("/api/auth/oauth", json={
            "provider": "down", "id_token": provider.sign_in(fresh_login())["id_token"]})
        assert answer.status_code == 503, answer.text
        assert reason(answer) == "OIDC_PROVIDER_UNAVAILABLE"
        assert "retry-after" in answer.headers


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _rsa_private_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_the_provider_script_is_committed_where_the_helper_runs_it() -> None:
    script = Path(__file__).resolve().parents[1] / "support" / "oidc_provider.mjs"
    assert "oidc-provider" in script.read_text()
