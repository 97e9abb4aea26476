"""Issue 18 item 5: JWT signing keys with a key id, rotated without logging anyone out.

Each "restart" is a new gRPC server over the same database and Redis, with the key set file as
`hotgigs keys` left it. A user signs in before any key set exists, and their tokens (and the
tokens each refresh gives) keep working through two rotations, until their key is retired.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import jwt
import pytest

from hotgigs import cli
from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.errors import Unauthenticated
from hotgigs.grpc_server.server import create_server
from hotgigs.security import jwt_keys
from hotgigs.security.tokens import TokenService
from hotgigs.settings import Address, ConfigError, Settings
from hotgigs.v1 import auth_pb2, auth_pb2_grpc

SECRET = "test-jwt-secret-0123456789-0123456789-abcdef"
PASSWORD = "Rotation-Proof-Passw0rd!"


@contextlib.contextmanager
def worker(settings: Settings, database: Database, redis_url: str,
           keys_file: Path | None) -> Iterator[auth_pb2_grpc.AuthServiceStub]:
    """A worker started with JWT_SECRET_KEY and the key set file as it is now (the suite's
    settings otherwise: its generous rate limits, as its many sign-ups share one address)."""
    key_set = jwt_keys.load(keys_file) if keys_file else None
    cache = Cache(redis_url)
    server = create_server(dataclasses.replace(settings, jwt_secret_key=SECRET,
                                               jwt_key_set=key_set,
                                               grpc_address=Address("127.0.0.1", 0)),
                           database, cache)
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield auth_pb2_grpc.AuthServiceStub(channel)
    finally:
        server.stop(0)
        cache.close()


def keys(*arguments: str) -> None:
    assert cli.main(["keys", *arguments]) == 0


def kid(token: str) -> str | None:
    value = jwt.get_unverified_header(token).get("kid")
    return None if value is None else str(value)


def me(stub: auth_pb2_grpc.AuthServiceStub, token: str) -> tuple[grpc.StatusCode, str]:
    """The code of GetCurrentUser with `token`, and the ErrorInfo reason of a refusal."""
    try:
        stub.GetCurrentUser(auth_pb2.GetCurrentUserRequest(), timeout=10,
                            metadata=(("authorization", f"Bearer {token}"),))
    except grpc.RpcError as error:
        return error.code(), _reason(error)
    return grpc.StatusCode.OK, ""


def refresh(stub: auth_pb2_grpc.AuthServiceStub, token: str) -> auth_pb2.RefreshTokenResponse:
    response: auth_pb2.RefreshTokenResponse = stub.RefreshToken(
        auth_pb2.RefreshTokenRequest(refresh_token=token), timeout=10)
    return response


def _reason(error: grpc.RpcError) -> str:
    from google.rpc import error_details_pb2, status_pb2

    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return str(info.reason)
    return ""


def test_rotation_logs_no_one_out_and_retirement_refuses(tmp_path: Path, settings: Settings,
                                                        database: Database, redis_url: str) -> None:
    keys_file = tmp_path / "jwt-keys.json"
    email = f"rotate-{uuid.uuid4().hex[:8]}@example.com"
    # Before key sets: JWT_SECRET_KEY signs, tokens carry no kid.
    with worker(settings, database, redis_url, None) as stub:
        signed_up = stub.Register(auth_pb2.RegisterRequest(
            email=email, password=PASSWORD, first_name="Kid", last_name="Rotation",
            user_type="candidate"), timeout=10)
    legacy_access, legacy_refresh = signed_up.access_token, signed_up.refresh_token
    assert kid(legacy_access) is None

    # Rotation 1: a first key is added and activated (one host).
    keys("jwt-add", "--activate", "--file", str(keys_file))
    first = jwt_keys.load(keys_file).signing_kid
    assert first is not None
    with worker(settings, database, redis_url, keys_file) as stub:
        assert me(stub, legacy_access) == (grpc.StatusCode.OK, ""), "logged in before: still in"
        renewed = refresh(stub, legacy_refresh)
        assert kid(renewed.access_token) == first and kid(renewed.refresh_token) == first
        assert me(stub, renewed.access_token)[0] == grpc.StatusCode.OK

    # Rotation 2, in two steps as on several hosts: add (verifies only), then activate.
    keys("jwt-add", "--file", str(keys_file))
    second = next(k.kid for k in jwt_keys.load(keys_file).keys if k.kid != first)
    with worker(settings, database, redis_url, keys_file) as stub:
        step = refresh(stub, renewed.refresh_token)
        assert kid(step.access_token) == first, "an added key does not sign before activation"
    keys("jwt-activate", second, "--file", str(keys_file))
    with worker(settings, database, redis_url, keys_file) as stub:
        assert me(stub, step.access_token)[0] == grpc.StatusCode.OK, "the old key still verifies"
        assert me(stub, legacy_access)[0] == grpc.StatusCode.OK, "so does JWT_SECRET_KEY"
        latest = refresh(stub, step.refresh_token)
        assert kid(latest.access_token) == second

    # Retiring the first key refuses its tokens; the second key's go on.
    keys("jwt-retire", first, "--file", str(keys_file))
    with worker(settings, database, redis_url, keys_file) as stub:
        assert me(stub, step.access_token) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_KEY_RETIRED")
        assert me(stub, latest.access_token)[0] == grpc.StatusCode.OK
        with pytest.raises(grpc.RpcError) as refused:
            refresh(stub, step.refresh_token)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

        # An unknown kid, a known kid with a forged signature, a kid that is not text: refused.
        claims = jwt.decode(latest.access_token, options={"verify_signature": False})
        numeric_kid = ".".join([jwt.utils.base64url_encode(b'{"alg":"HS256","kid":7}').decode(),
                                *latest.access_token.split(".")[1:]])
        forgeries = [jwt.encode(claims, key, algorithm="HS256", headers=headers) for key, headers in (
            (SECRET, {"kid": "no-such-key"}),
            ("another-secret-0123456789-0123456789-x", {"kid": second}))]
        for forged in [*forgeries, numeric_kid]:
            code, reason = me(stub, forged)
            assert code == grpc.StatusCode.UNAUTHENTICATED, forged
            assert reason in ("TOKEN_KEY_UNKNOWN", "TOKEN_INVALID"), reason
        assert me(stub, jwt.encode(claims, SECRET, algorithm="HS256",
                                   headers={"kid": "no-such-key"}))[1] == "TOKEN_KEY_UNKNOWN"


class TestKeySet:
    def test_secrets_are_never_listed_or_repr(self, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
        path = tmp_path / "keys.json"
        keys("jwt-add", "--activate", "--file", str(path))
        keys("jwt-add", "--file", str(path))
        capsys.readouterr()
        keys("jwt-list", "--file", str(path))
        listed = capsys.readouterr().out
        key_set = jwt_keys.load(path)
        assert all(key.secret not in listed and key.secret not in repr(key) for key in key_set.keys)
        assert f"{key_set.signing_kid}  signing" in listed and "verifying" in listed
        assert path.stat().st_mode & 0o777 == 0o600

    def test_the_signing_key_cannot_be_retired(self, tmp_path: Path) -> None:
        path = tmp_path / "keys.json"
        keys("jwt-add", "--activate", "--file", str(path))
        signing = jwt_keys.load(path).signing_kid
        assert cli.main(["keys", "jwt-retire", str(signing), "--file", str(path)]) == 1
        assert jwt_keys.load(path).signing_kid == signing

    def test_a_retired_key_cannot_sign_again(self, tmp_path: Path) -> None:
        key_set, old = jwt_keys.KeySet().add(activate=True)
        key_set, _ = key_set.add(activate=True)
        retired = key_set.retire(old.kid)
        with pytest.raises(jwt_keys.KeySetError, match="retired"):
            retired.activate(old.kid)

    @pytest.mark.parametrize(("document", "message"), [
        ("[]", "expected an object"),
        ("{not json", "not JSON"),
        ('{"keys": [{"kid": "a b", "secret": "' + "s" * 40 + '"}]}', "kid"),
        ('{"keys": [{"kid": "a", "secret": "short"}]}', "32"),
        ('{"keys": [], "signing_kid": "a"}', "not one of the keys"),
        ('{"keys": [], "extra": 1}', "unknown field"),
        ('{"keys": [{"kid": "a", "secret": "' + "s" * 40 + '"}, {"kid": "a", "secret": "'
         + "t" * 40 + '"}]}', "used twice"),
        ('{"signing_kid": "a", "keys": [{"kid": "a", "secret": "' + "s" * 40
         + '", "retired_at": "2026-01-01"}]}', "retired"),
    ])
    def test_a_bad_file_is_a_clear_startup_error(self, tmp_path: Path, document: str,
                                                 message: str) -> None:
        """Start-up fails naming JWT_KEYS_FILE, not a 401 per request."""
        path = tmp_path / "keys.json"
        path.write_text(document)
        with pytest.raises(ConfigError, match="JWT_KEYS_FILE") as error:
            Settings.from_env({"JWT_KEYS_FILE": str(path)})
        assert message in str(error.value)
        assert "s" * 40 not in str(error.value)

    def test_a_missing_file_is_a_startup_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match=r"JWT_KEYS_FILE.*no such file"):
            Settings.from_env({"JWT_KEYS_FILE": str(tmp_path / "absent.json")})

    def test_settings_read_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "keys.json"
        key_set, key = jwt_keys.KeySet().add(activate=True)
        jwt_keys.save(path, key_set)
        settings = Settings.from_env({"JWT_KEYS_FILE": str(path)})
        assert settings.jwt_key_set == key_set and settings.jwt_keys_file == path
        assert key.secret not in repr(settings)
        tokens = TokenService(settings.jwt_secret_key, access_ttl_seconds=60,
                              refresh_ttl_seconds=60, key_set=settings.jwt_key_set)
        issued = tokens.issue_access(user_id=1, role="candidate", session_id="s")
        assert kid(issued.token) == key.kid
        assert tokens.decode(issued.token, kind="access").user_id == 1
        payload = json.loads(jwt.utils.base64url_decode(issued.token.split(".")[0]))
        assert payload == {"alg": "HS256", "kid": key.kid, "typ": "JWT"}

    def test_an_expired_token_of_a_live_key_is_still_expired(self) -> None:
        key_set, _ = jwt_keys.KeySet().add(activate=True)
        tokens = TokenService(SECRET, access_ttl_seconds=60, refresh_ttl_seconds=60,
                              key_set=key_set)
        old = tokens.issue_access(user_id=1, role="candidate", session_id="s",
                                  now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        with pytest.raises(Unauthenticated, match="expired"):
            tokens.decode(old.token, kind="access")
