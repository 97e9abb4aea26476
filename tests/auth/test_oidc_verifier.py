"""The verifier's bounds (issue 20 item 1): key cache and refresh limit, outbound HTTP limits,
and the GitHub-shaped userinfo answers. The issuer here is a local server publishing keys made
by the test (tests/auth/test_oidc.py runs the flows against a real OIDC provider)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from hotgigs.errors import InvalidArgument, Unauthenticated, Unavailable
from hotgigs.security import oidc
from hotgigs.security.oidc import MAX_RESPONSE_BYTES, OidcVerifier
from hotgigs.security.oidc_providers import OIDC, USERINFO, OidcProvider
from hotgigs.settings import Settings
from tests.support.json_server import Answer, JsonServer, json_server

CLIENT = "hotgigs-web"


class Issuer:
    """A local issuer: discovery document and JWKS on a JsonServer, keys made here."""

    def __init__(self, server: JsonServer) -> None:
        self.server = server
        self.keys: dict[str, Any] = {}
        self.publish("k1")
        server.json("/.well-known/openid-configuration",
                    {"issuer": server.base_url, "jwks_uri": f"{server.base_url}/jwks"})

    def publish(self, *kids: str) -> None:
        for kid in kids:
            self.keys.setdefault(kid, rsa.generate_private_key(public_exponent=65537,
                                                               key_size=2048))
        self.server.json("/jwks", {"keys": [
            {**jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key(), as_dict=True),
             "kid": kid, "use": "sig", "alg": "RS256"} for kid in kids]})

    def token(self, kid: str = "k1", **claims: Any) -> str:
        key = self.keys.get(kid) or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = int(time.time())
        body = {"iss": self.server.base_url, "aud": CLIENT, "sub": "s1", "iat": now,
                "exp": now + 300, "email": "a@example.com", "email_verified": True, **claims}
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


class Clock:
    """`time` for the verifier, moved forward by `offset` seconds."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


@pytest.fixture
def server() -> Iterator[JsonServer]:
    with json_server() as running:
        yield running


@pytest.fixture
def issuer(server: JsonServer) -> Issuer:
    return Issuer(server)


def verifier(provider: OidcProvider, **settings: Any) -> OidcVerifier:
    return OidcVerifier(Settings(oidc_providers=(provider,), **settings))


def oidc_provider(server: JsonServer) -> OidcProvider:
    return OidcProvider(name="local", kind=OIDC, issuer=server.base_url, client_ids=(CLIENT,),
                        allow_http_loopback=True)


class TestKeyCache:
    def test_keys_are_fetched_once_for_many_tokens(self, issuer: Issuer,
                                                   server: JsonServer) -> None:
        check = verifier(oidc_provider(server))
        for _ in range(5):
            assert check.identify(check.provider("local"), token=issuer.token()).subject == "s1"
        assert server.hits["/jwks"] == 1
        assert server.hits["/.well-known/openid-configuration"] == 1

    def test_unknown_key_ids_refetch_at_most_once_per_interval(
            self, issuer: Issuer, server: JsonServer, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = Clock()
        monkeypatch.setattr(oidc, "time", clock)
        check = verifier(oidc_provider(server), oidc_jwks_min_refresh_seconds=60)
        provider = check.provider("local")
        forged = [issuer.token(kid=f"forged{n}") for n in range(4)]
        check.identify(provider, token=issuer.token())
        for token in forged[:2]:
            with pytest.raises(Unauthenticated, match="key the provider does not publish"):
                check.identify(provider, token=token)
        assert server.hits["/jwks"] == 1  # within the interval: no refetch at all
        clock.offset += 61
        for token in forged[2:]:
            with pytest.raises(Unauthenticated, match="key the provider does not publish"):
                check.identify(provider, token=token)
        assert server.hits["/jwks"] == 2  # after it: one refetch for both

    def test_a_rotated_key_is_found_by_the_refresh(self, issuer: Issuer,
                                                   server: JsonServer) -> None:
        check = verifier(oidc_provider(server), oidc_jwks_min_refresh_seconds=0)
        provider = check.provider("local")
        check.identify(provider, token=issuer.token())
        issuer.publish("k2")
        assert check.identify(provider, token=issuer.token(kid="k2")).subject == "s1"
        assert server.hits["/jwks"] == 2

    def test_keys_expire_after_their_ttl(self, issuer: Issuer, server: JsonServer) -> None:
        check = verifier(oidc_provider(server), oidc_jwks_cache_seconds=0,
                         oidc_jwks_min_refresh_seconds=0)
        provider = check.provider("local")
        check.identify(provider, token=issuer.token())
        check.identify(provider, token=issuer.token())
        assert server.hits["/jwks"] == 2


class TestOutboundBounds:
    def test_an_oversized_answer_is_refused(self, issuer: Issuer, server: JsonServer) -> None:
        server.routes["/jwks"] = Answer(body=b"[" + b"0," * MAX_RESPONSE_BYTES + b"0]")
        check = verifier(oidc_provider(server))
        with pytest.raises(Unavailable):
            check.identify(check.provider("local"), token=issuer.token())

    def test_an_oversized_answer_without_length_is_cut_off(self, issuer: Issuer,
                                                           server: JsonServer) -> None:
        server.routes["/jwks"] = Answer(body=b"[" + b"0," * MAX_RESPONSE_BYTES + b"0]",
                                        send_length=False)
        check = verifier(oidc_provider(server))
        with pytest.raises(Unavailable):
            check.identify(check.provider("local"), token=issuer.token())

    def test_a_slow_provider_is_given_up_on(self, issuer: Issuer, server: JsonServer) -> None:
        server.routes["/jwks"] = Answer(body=b'{"keys": []}' * 20, drip_seconds=0.05)
        check = verifier(oidc_provider(server), oidc_http_timeout_seconds=0.5)
        started = time.monotonic()
        with pytest.raises(Unavailable):
            check.identify(check.provider("local"), token=issuer.token())
        assert time.monotonic() - started < 3.0

    def test_redirects_are_not_followed(self, issuer: Issuer, server: JsonServer) -> None:
        server.routes["/jwks"] = Answer(302, b"", {"location": "http://127.0.0.1:1/jwks"})
        check = verifier(oidc_provider(server))
        with pytest.raises(Unavailable):
            check.identify(check.provider("local"), token=issuer.token())

    def test_a_discovery_document_naming_another_issuer_is_refused(
            self, issuer: Issuer, server: JsonServer) -> None:
        server.json("/.well-known/openid-configuration",
                    {"issuer": "https://evil.example", "jwks_uri": f"{server.base_url}/jwks"})
        check = verifier(oidc_provider(server))
        with pytest.raises(Unavailable):
            check.identify(check.provider("local"), token=issuer.token())

    def test_http_keys_beyond_loopback_are_never_fetched(self, issuer: Issuer,
                                                         server: JsonServer) -> None:
        server.json("/.well-known/openid-configuration",
                    {"issuer": server.base_url, "jwks_uri": "http://keys.example/jwks"})
        check = verifier(oidc_provider(server))
        with pytest.raises(Unavailable):
            check.identify(check.provider("local"), token=issuer.token())

    def test_without_the_loopback_setting_http_is_refused(self, issuer: Issuer,
                                                          server: JsonServer) -> None:
        provider = OidcProvider(name="local", kind=OIDC, issuer=server.base_url,
                                client_ids=(CLIENT,))
        check = verifier(provider)
        with pytest.raises(Unavailable):
            check.identify(provider, token=issuer.token())
        assert server.hits["/.well-known/openid-configuration"] == 0


class TestClaims:
    def test_the_issuer_must_be_the_configured_one_or_its_alias(
            self, issuer: Issuer, server: JsonServer) -> None:
        provider = OidcProvider(name="local", kind=OIDC, issuer=server.base_url,
                                client_ids=(CLIENT,), issuer_aliases=("legacy-issuer",),
                                allow_http_loopback=True)
        check = verifier(provider)
        with pytest.raises(Unauthenticated, match="another issuer"):
            check.identify(provider, token=issuer.token(iss="https://evil.example"))
        assert check.identify(provider, token=issuer.token(iss="legacy-issuer")).subject == "s1"

    def test_a_deeply_nested_answer_is_refused_cleanly(self, issuer: Issuer,
                                                       server: JsonServer) -> None:
        server.routes["/jwks"] = Answer(body=b"[" * 200_000 + b"]" * 200_000)
        check = verifier(oidc_provider(server))
        with pytest.raises(Unavailable):
            check.identify(check.provider("local"), token=issuer.token())

    def test_several_audiences_need_ours_as_authorized_party(self, issuer: Issuer,
                                                             server: JsonServer) -> None:
        check = verifier(oidc_provider(server))
        provider = check.provider("local")
        with pytest.raises(Unauthenticated, match="azp"):
            check.identify(provider, token=issuer.token(aud=[CLIENT, "other"], azp="other"))
        assert check.identify(provider, token=issuer.token(aud=[CLIENT, "other"],
                                                           azp=CLIENT)).subject == "s1"

    def test_the_clock_leeway_is_small(self, issuer: Issuer, server: JsonServer) -> None:
        check = verifier(oidc_provider(server), oidc_clock_leeway_seconds=30)
        provider = check.provider("local")
        now = int(time.time())
        assert check.identify(provider, token=issuer.token(exp=now - 10)).subject == "s1"
        with pytest.raises(Unauthenticated, match="expired"):
            check.identify(provider, token=issuer.token(exp=now - 40))

    @pytest.mark.parametrize("missing", ["sub", "exp", "iat", "aud", "iss"])
    def test_required_claims(self, issuer: Issuer, server: JsonServer, missing: str) -> None:
        check = verifier(oidc_provider(server))
        token = issuer.token(**{missing: None})
        assert missing not in jwt.decode(token, options={"verify_signature": False})
        with pytest.raises(Unauthenticated):
            check.identify(check.provider("local"), token=token)

    def test_email_verified_as_a_string_counts(self, issuer: Issuer, server: JsonServer) -> None:
        check = verifier(oidc_provider(server))
        identity = check.identify(check.provider("local"),
                                  token=issuer.token(email_verified="true"))
        assert identity.email_verified is True
        identity = check.identify(check.provider("local"),
                                  token=issuer.token(email_verified="yes"))
        assert identity.email_verified is False

    def test_a_token_with_spaces_or_control_characters_is_malformed(
            self, server: JsonServer) -> None:
        check = verifier(oidc_provider(server))
        for token in ("a b.c.d", "a\x00.b.c", "é.b.c"):
            with pytest.raises(InvalidArgument):
                check.identify(check.provider("local"), token=token)
        assert server.hits["/jwks"] == 0


class TestGithubShape:
    """The github preset's mapping: /user's numeric id is the subject, the e-mail and its
    verified flag come from /user/emails (the primary address)."""

    def github(self, server: JsonServer) -> OidcVerifier:
        provider = OidcProvider(name="github", kind=USERINFO,
                                userinfo_url=f"{server.base_url}/user",
                                emails_url=f"{server.base_url}/user/emails", subject_claim="id",
                                allow_http_loopback=True)
        return verifier(provider)

    def test_the_primary_verified_address_is_used(self, server: JsonServer) -> None:
        server.json("/user", {"id": 583231, "login": "octocat", "name": "The Octocat",
                              "email": None})
        server.json("/user/emails", [
            {"email": "old@example.com", "primary": False, "verified": True},
            {"email": "octocat@github.com", "primary": True, "verified": True}])
        check = self.github(server)
        identity = check.identify(check.provider("github"), token="gho_abc123")
        assert (identity.subject, identity.email, identity.email_verified, identity.name) == \
            ("583231", "octocat@github.com", True, "The Octocat")
        assert server.authorizations == ["Bearer gho_abc123"] * 2

    def test_an_unverified_primary_address_is_not_verified(self, server: JsonServer) -> None:
        server.json("/user", {"id": 7, "login": "x"})
        server.json("/user/emails", [{"email": "x@example.com", "primary": True,
                                      "verified": False}])
        check = self.github(server)
        identity = check.identify(check.provider("github"), token="gho_x")
        assert (identity.email, identity.email_verified) == ("x@example.com", False)

    def test_a_refused_token_is_unauthenticated(self, server: JsonServer) -> None:
        server.json("/user", {"message": "Bad credentials"}, status=401)
        check = self.github(server)
        with pytest.raises(Unauthenticated):
            check.identify(check.provider("github"), token="gho_bad")

    def test_an_answer_without_an_id_is_refused(self, server: JsonServer) -> None:
        server.json("/user", {"login": "x"})
        server.json("/user/emails", [])
        check = self.github(server)
        with pytest.raises(Unauthenticated, match="subject"):
            check.identify(check.provider("github"), token="gho_x")
