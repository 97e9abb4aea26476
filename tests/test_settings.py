"""Settings come from the environment, validated, with errors that name the variable."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest

from hotgigs.settings import (
    DEVELOPMENT_API_KEY_PEPPER,
    DEVELOPMENT_JWT_SECRET,
    DEVELOPMENT_KEKS,
    Address,
    ConfigError,
    Kek,
    Settings,
)

STRONG_SECRET = "x" * 40
KEKS = "t1:" + base64.b64encode(bytes(range(32))).decode()  # HOTGIGS_ENCRYPTION_KEKS


class TestDefaults:
    def test_development_defaults_match_the_readme(self) -> None:
        """With nothing set, the development profile listens where the README says."""
        settings = Settings.from_env({})
        assert settings.environment == "development"
        assert settings.http_address == Address("127.0.0.1", 8080)
        assert settings.grpc_address == Address("127.0.0.1", 50051)
        assert settings.envoy_admin_address == Address("127.0.0.1", 9901)
        assert settings.database_url is None
        assert settings.redis_url is None
        assert settings.jwt_access_token_expires == 3600
        assert settings.data_dir == Path("var")

    def test_values_are_read_from_the_environment(self) -> None:
        settings = Settings.from_env({
            "HOTGIGS_ENV": "test", "JWT_SECRET_KEY": STRONG_SECRET, "HOTGIGS_ENCRYPTION_KEKS": KEKS,
            "HOTGIGS_HTTP_ADDRESS": "0.0.0.0:80", "CORS_ORIGINS": "https://a.example, https://b.example",
            "JWT_ACCESS_TOKEN_EXPIRES": "900", "DATABASE_URL": "postgresql://u:p@db/hotgigs",
        })
        assert settings.http_address == Address("0.0.0.0", 80)  # noqa: S104 - parsing only
        assert settings.cors_allowed_origins == ("https://a.example", "https://b.example")
        assert settings.jwt_access_token_expires == 900
        assert settings.database_url == "postgresql://u:p@db/hotgigs"


class TestValidation:
    @pytest.mark.parametrize(("environ", "variable"), [
        ({"HOTGIGS_ENV": "staging"}, "HOTGIGS_ENV"),
        ({"HOTGIGS_GRPC_ADDRESS": "50051"}, "HOTGIGS_GRPC_ADDRESS"),
        ({"HOTGIGS_HTTP_ADDRESS": "127.0.0.1:99999"}, "HOTGIGS_HTTP_ADDRESS"),
        ({"JWT_ACCESS_TOKEN_EXPIRES": "soon"}, "JWT_ACCESS_TOKEN_EXPIRES"),
        ({"JWT_SECRET_KEY": "short"}, "JWT_SECRET_KEY"),
        ({"CORS_ORIGINS": "app.example.com"}, "CORS_ORIGINS"),
        ({"HOTGIGS_LOG_FORMAT": "xml"}, "HOTGIGS_LOG_FORMAT"),
        ({"HOTGIGS_SHUTDOWN_GRACE_SECONDS": "-1"}, "HOTGIGS_SHUTDOWN_GRACE_SECONDS"),
        ({"HOTGIGS_API_KEY_PEPPER": "short"}, "HOTGIGS_API_KEY_PEPPER"),
        ({"SERVICE_ACCOUNT_RATE_LIMIT_PER_MINUTE": "0"}, "SERVICE_ACCOUNT_RATE_LIMIT_PER_MINUTE"),
        ({"DATABASE_REPLICA_URL": "mysql://u:p@db/hotgigs"}, "DATABASE_REPLICA_URL"),
        ({"DATABASE_REPLICA_URL": "postgresql://u:p@db"}, "DATABASE_REPLICA_URL"),
        ({"DATABASE_REPLICA_URL": "postgresql:///hotgigs"}, "DATABASE_REPLICA_URL"),
        ({"DATABASE_REPLICA_URL": "postgresql://u:p@db:port/hotgigs"}, "DATABASE_REPLICA_URL"),
        ({"DATABASE_REPLICA_URL": "db.example:5432"}, "DATABASE_REPLICA_URL"),
        ({"DATABASE_REPLICA_MAX_LAG_SECONDS": "0"}, "DATABASE_REPLICA_MAX_LAG_SECONDS"),
        ({"DATABASE_REPLICA_MAX_LAG_SECONDS": "7200"}, "DATABASE_REPLICA_MAX_LAG_SECONDS"),
        ({"DATABASE_REPLICA_CHECK_SECONDS": "soon"}, "DATABASE_REPLICA_CHECK_SECONDS"),
    ])
    def test_bad_value_names_the_variable(self, environ: dict[str, str], variable: str) -> None:
        with pytest.raises(ConfigError, match=variable):
            Settings.from_env(environ)

    def test_a_bad_replica_url_never_shows_its_password(self) -> None:
        with pytest.raises(ConfigError, match="DATABASE_REPLICA_URL") as raised:
            Settings.from_env({"DATABASE_REPLICA_URL": "postgresql://u:s3cr3t-pw@db:x/hotgigs"})
        assert "s3cr3t-pw" not in str(raised.value)

    def test_the_replica_settings_are_read(self) -> None:
        settings = Settings.from_env({
            "DATABASE_REPLICA_URL": "postgresql://u:p@replica.internal:5432/hotgigs?sslmode=verify-full",
            "DATABASE_REPLICA_MAX_LAG_SECONDS": "2.5", "DATABASE_REPLICA_CHECK_SECONDS": "0.5"})
        assert settings.database_replica_url == \
            "postgresql://u:p@replica.internal:5432/hotgigs?sslmode=verify-full"
        assert settings.database_replica_max_lag_seconds == 2.5
        assert settings.database_replica_check_seconds == 0.5
        assert Settings.from_env({}).database_replica_url is None  # no replica by default

    def test_secret_is_required_outside_development(self) -> None:
        """No secret has a default outside the development profile."""
        with pytest.raises(ConfigError, match="JWT_SECRET_KEY is required"):
            Settings.from_env({"HOTGIGS_ENV": "test"})

    def test_production_requires_real_servers(self) -> None:
        with pytest.raises(ConfigError, match="DATABASE_URL and CACHE_REDIS_URL"):
            Settings.from_env({"HOTGIGS_ENV": "production", "JWT_SECRET_KEY": STRONG_SECRET})


class TestApiKeyPepper:
    """Issue 18: API keys are hashed with a server-side pepper; none outside development means
    keys are off, and the public development pepper is refused there."""

    def test_development_has_its_own_pepper(self) -> None:
        assert Settings.from_env({}).api_key_pepper == DEVELOPMENT_API_KEY_PEPPER

    def test_unset_outside_development_turns_keys_off(self) -> None:
        settings = Settings.from_env({"HOTGIGS_ENV": "test", "JWT_SECRET_KEY": STRONG_SECRET,
                                      "HOTGIGS_ENCRYPTION_KEKS": KEKS})
        assert settings.api_key_pepper is None

    def test_the_development_pepper_is_refused_outside_development(self) -> None:
        with pytest.raises(ConfigError, match="HOTGIGS_API_KEY_PEPPER"):
            Settings.from_env({"HOTGIGS_ENV": "test", "JWT_SECRET_KEY": STRONG_SECRET,
                               "HOTGIGS_API_KEY_PEPPER": DEVELOPMENT_API_KEY_PEPPER})

    def test_an_own_pepper_is_read(self) -> None:
        settings = Settings.from_env({"HOTGIGS_ENV": "test", "JWT_SECRET_KEY": STRONG_SECRET,
                                      "HOTGIGS_API_KEY_PEPPER": "p" * 40,
                                      "HOTGIGS_ENCRYPTION_KEKS": KEKS})
        assert settings.api_key_pepper == "p" * 40


class TestEncryptionKeks:
    """Issue 18 item 4: key-encryption keys, required outside development; the first wraps."""

    def _read(self, value: str, environment: str = "test") -> Settings:
        return Settings.from_env({"HOTGIGS_ENV": environment, "JWT_SECRET_KEY": STRONG_SECRET,
                                  "HOTGIGS_ENCRYPTION_KEKS": value})

    def test_development_has_its_own_public_key(self) -> None:
        assert Settings.from_env({}).encryption_keks == DEVELOPMENT_KEKS

    def test_required_outside_development(self) -> None:
        with pytest.raises(ConfigError, match="HOTGIGS_ENCRYPTION_KEKS is required"):
            Settings.from_env({"HOTGIGS_ENV": "test", "JWT_SECRET_KEY": STRONG_SECRET})

    def test_several_keys_the_first_wraps(self) -> None:
        new, old = os.urandom(32), os.urandom(32)
        keks = self._read(f"k2:{base64.b64encode(new).decode()}, "
                          f"k1:{base64.urlsafe_b64encode(old).decode().rstrip('=')}").encryption_keks
        assert keks == (Kek("k2", new), Kek("k1", old))
        assert str(new) not in repr(keks), "the material stays out of reprs (and logs)"

    @pytest.mark.parametrize(("value", "message"), [
        ("k1", "expected id:base64-key"),
        ("k 1:" + base64.b64encode(bytes(32)).decode(), "expected id:base64-key"),
        ("k1:not*base64", "is not base64"),
        ("k1:" + base64.b64encode(bytes(16)).decode(), "is 16 bytes, must be 32"),
        (f"k1:{KEKS[3:]},k1:{KEKS[3:]}", "listed twice"),
        ("dev:" + base64.b64encode(DEVELOPMENT_KEKS[0].material).decode(),
         "development key is refused"),
    ])
    def test_bad_values_are_refused_naming_the_variable(self, value: str, message: str) -> None:
        with pytest.raises(ConfigError, match="HOTGIGS_ENCRYPTION_KEKS") as refused:
            self._read(value)
        assert message in str(refused.value)
        assert KEKS[3:] not in str(refused.value)


class TestDevelopmentKey:
    """Issue 12 item 19: the development JWT key is public, so it is refused beyond loopback."""

    @pytest.mark.parametrize("variable", ["HOTGIGS_GRPC_ADDRESS", "HOTGIGS_HTTP_ADDRESS",
                                          "HOTGIGS_ENVOY_ADMIN_ADDRESS", "HOTGIGS_METRICS_ADDRESS"])
    @pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "[::]", "api.example.com"])  # noqa: S104
    def test_any_listener_beyond_loopback_refuses_the_development_key(
            self, variable: str, host: str) -> None:
        with pytest.raises(ConfigError, match=rf"JWT_SECRET_KEY.*{variable}=") as raised:
            Settings.from_env({variable: f"{host}:8000"})
        assert "loopback" in str(raised.value)

    @pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "[::1]", "localhost"])
    def test_loopback_listeners_keep_the_development_key(self, host: str) -> None:
        settings = Settings.from_env({"HOTGIGS_GRPC_ADDRESS": f"{host}:50051",
                                      "HOTGIGS_HTTP_ADDRESS": f"{host}:8080"})
        assert settings.jwt_secret_key == DEVELOPMENT_JWT_SECRET

    def test_an_own_key_may_listen_anywhere(self) -> None:
        settings = Settings.from_env({"JWT_SECRET_KEY": STRONG_SECRET,
                                      "HOTGIGS_HTTP_ADDRESS": "0.0.0.0:8080"})
        assert settings.http_address.host == "0.0.0.0"  # noqa: S104 - parsing only

    def test_the_development_key_given_explicitly_is_refused_outside_development(self) -> None:
        with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
            Settings.from_env({"HOTGIGS_ENV": "test", "JWT_SECRET_KEY": DEVELOPMENT_JWT_SECRET,
                               "HOTGIGS_ENCRYPTION_KEKS": KEKS})


def test_every_setting_is_documented_in_both_environment_examples() -> None:
    """.env.example (development) and deploy/hotgigs.env.example (the units' file) list every
    variable settings.py reads, set or commented out."""
    root = Path(__file__).resolve().parents[1]
    source = (root / "server" / "hotgigs" / "settings.py").read_text()
    read = set(re.findall(r'"((?:HOTGIGS|JWT|SMTP|RATE|AUTH|CACHE|DATABASE|CORS|OTEL|OPENAI|MAIL|'
                          r'SESSION|LOGIN)_[A-Z0-9_]+)"', source))
    assert len(read) > 40, "the pattern no longer finds settings.py's variables"
    for example in (root / ".env.example", root / "deploy" / "hotgigs.env.example"):
        listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example.read_text(), re.MULTILINE))
        assert read <= listed, f"{example.name} lacks {sorted(read - listed)}"


def test_the_development_signing_key_is_long_enough_for_hs256() -> None:
    """`make run` signs with the development key: PyJWT must not warn on it (warnings fail
    the suite), so tokens from a fresh checkout look like production ones."""
    from hotgigs.security.tokens import TokenService

    settings = Settings.from_env({})
    tokens = TokenService(settings.jwt_secret_key, access_ttl_seconds=60, refresh_ttl_seconds=60)
    issued = tokens.issue_access(user_id=1, role="candidate", session_id="s1")
    assert tokens.decode(issued.token, kind="access").user_id == 1


# ---- defaults written once: settings.py's dataclass; everything else is checked against it ----
ROOT = Path(__file__).resolve().parents[1]
# The one variable the development profile would otherwise invent per run.
BASE = {"HOTGIGS_PROXY_SECRET": "fixed-proxy-secret-for-tests"}
# Values the examples set on purpose to something other than the default (and why).
DELIBERATE = {
    ".env.example": {"CORS_ORIGINS"},  # a local front end on :3000 in development
    # the production profile; CORS_ORIGINS a placeholder the deploy sets (hotgigs_cors_origins)
    "deploy/hotgigs.env.example": {"HOTGIGS_ENV", "CORS_ORIGINS"},
}


def _with(name: str, value: str) -> Settings:
    return Settings.from_env({**BASE, name: value})


def _is_default(name: str, value: str) -> bool:
    return _with(name, value) == Settings.from_env(BASE)


def test_from_env_falls_back_to_the_dataclass_defaults() -> None:
    """With nothing set, the environment gives exactly the dataclass defaults (a default
    written a second time in `from_env` fails here when it drifts)."""
    assert Settings.from_env(BASE) == Settings(proxy_secret=BASE["HOTGIGS_PROXY_SECRET"])


@pytest.mark.parametrize("example", sorted(DELIBERATE))
def test_the_environment_examples_show_the_defaults(example: str) -> None:
    """Every variable an example sets (not commented out) is set to the default, except the
    deliberate ones, which must really differ (so the list above stays true)."""
    assignments = re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", (ROOT / example).read_text(), re.MULTILINE)
    assert len(assignments) > 30, "the pattern no longer finds the example's assignments"
    drifted = [f"{name}={value}" for name, value in assignments
               if name not in DELIBERATE[example] and not _is_default(name, value)]
    assert drifted == [], f"{example} differs from settings.py's defaults"
    for name in DELIBERATE[example] - {"HOTGIGS_ENV"}:  # production cannot start from BASE
        value = dict(assignments)[name]
        assert not _is_default(name, value), f"{name} in {example} is the default now"


def test_the_readme_shows_the_defaults() -> None:
    """The configuration table's defaults (`value` cells) and the `VARIABLE` (number) mentions
    in the README's prose are the settings' defaults."""
    readme = (ROOT / "README.md").read_text()
    shown: list[tuple[str, str]] = []
    for names, defaults in re.findall(r"^\| ((?:`[A-Z][A-Z0-9_]+`(?:, )?)+) \| ([^|]*) \|",
                                      readme, re.MULTILINE):
        cells = [cell.strip() for cell in defaults.split(",")]
        variables = re.findall(r"`([A-Z][A-Z0-9_]+)`", names)
        if len(cells) == len(variables):
            shown += [(name, cell.strip("`")) for name, cell in zip(variables, cells, strict=True)
                      if cell.startswith("`")]
    shown += [(name, value.replace(",", "")) for name, value
              in re.findall(r"`([A-Z][A-Z0-9_]+)` \((\d[\d,]*)\)", readme)]
    assert len(shown) > 20, "the patterns no longer find the README's defaults"
    drifted = [f"{name}={value}" for name, value in shown if not _is_default(name, value)]
    assert drifted == []


def test_the_ansible_roles_rely_on_the_defaults_they_repeat() -> None:
    """Envoy's settings file (the envoy role's envoy.env, what its configuration is rendered
    from) sets the admin address and access log from the role's variables, which the app role
    reaches and logrotate rotates; the admin address is the settings' default; the app's
    environment file (workers only) sets neither."""
    import yaml

    roles = ROOT / "ansible" / "roles"
    envoy = yaml.safe_load((roles / "envoy" / "defaults" / "main.yml").read_text())
    app = yaml.safe_load((roles / "app" / "defaults" / "main.yml").read_text())
    environment = (roles / "app" / "templates" / "etc" / "hotgigs" / "hotgigs.env.j2").read_text()
    envoy_env = (roles / "envoy" / "templates" / "etc" / "hotgigs" / "envoy.env.j2").read_text()
    assert "HOTGIGS_ENVOY_" not in environment
    assert "HOTGIGS_ENVOY_ADMIN_ADDRESS={{ envoy__admin_address }}\n" in envoy_env
    assert "HOTGIGS_ENVOY_ACCESS_LOG={{ envoy__access_log }}\n" in envoy_env
    default = str(Settings.envoy_admin_address)
    assert envoy["envoy__admin_address"] == default
    assert app["app__envoy_admin_url"] == f"http://{default}"


class TestOidcProviders:
    """Issue 20 item 1: identity providers for POST /api/auth/oauth come from
    HOTGIGS_OIDC_PROVIDERS and HOTGIGS_OIDC_<NAME>_* (README "Sign-in with an identity
    provider")."""

    def test_none_by_default(self) -> None:
        assert Settings.from_env({}).oidc_providers == ()

    def test_the_presets(self) -> None:
        settings = Settings.from_env({
            "HOTGIGS_OIDC_PROVIDERS": "google, github",
            "HOTGIGS_OIDC_GOOGLE_CLIENT_IDS": "web.apps.googleusercontent.com,ios",
        })
        google, github = settings.oidc_providers
        assert (google.kind, google.issuer, google.client_ids) == (
            "oidc", "https://accounts.google.com", ("web.apps.googleusercontent.com", "ios"))
        assert google.issuers == ("https://accounts.google.com", "accounts.google.com")
        assert (github.kind, github.userinfo_url, github.emails_url, github.subject_claim) == (
            "userinfo", "https://api.github.com/user", "https://api.github.com/user/emails", "id")

    def test_a_generic_provider(self) -> None:
        [provider] = Settings.from_env({
            "HOTGIGS_OIDC_PROVIDERS": "linkedin",
            "HOTGIGS_OIDC_LINKEDIN_ISSUER": "https://www.linkedin.com/oauth/",
            "HOTGIGS_OIDC_LINKEDIN_CLIENT_IDS": "86abc",
        }).oidc_providers
        assert (provider.name, provider.kind, provider.issuer) == (
            "linkedin", "oidc", "https://www.linkedin.com/oauth")

    @pytest.mark.parametrize(("environ", "variable"), [
        ({"HOTGIGS_OIDC_PROVIDERS": "google"}, "HOTGIGS_OIDC_GOOGLE_CLIENT_IDS"),
        ({"HOTGIGS_OIDC_PROVIDERS": "corp", "HOTGIGS_OIDC_CORP_CLIENT_IDS": "x"},
         "HOTGIGS_OIDC_CORP_ISSUER"),
        ({"HOTGIGS_OIDC_PROVIDERS": "corp", "HOTGIGS_OIDC_CORP_CLIENT_IDS": "x",
          "HOTGIGS_OIDC_CORP_ISSUER": "http://idp.example.com"}, "HOTGIGS_OIDC_CORP_ISSUER"),
        ({"HOTGIGS_OIDC_PROVIDERS": "corp", "HOTGIGS_OIDC_CORP_CLIENT_IDS": "x",
          "HOTGIGS_OIDC_CORP_ISSUER": "http://127.0.0.1:9000"}, "HOTGIGS_OIDC_CORP_ISSUER"),
        ({"HOTGIGS_OIDC_PROVIDERS": "corp", "HOTGIGS_OIDC_CORP_PRESET": "saml"},
         "HOTGIGS_OIDC_CORP_PRESET"),
        ({"HOTGIGS_OIDC_PROVIDERS": "info", "HOTGIGS_OIDC_INFO_PRESET": "userinfo"},
         "HOTGIGS_OIDC_INFO_USERINFO_URL"),
        ({"HOTGIGS_OIDC_PROVIDERS": "Bad-Name"}, "HOTGIGS_OIDC_PROVIDERS"),
        ({"HOTGIGS_OIDC_PROVIDERS": "github,github"}, "HOTGIGS_OIDC_PROVIDERS"),
        ({"HOTGIGS_OIDC_HTTP_TIMEOUT_SECONDS": "60"}, "HOTGIGS_OIDC_HTTP_TIMEOUT_SECONDS"),
        ({"HOTGIGS_OIDC_CLOCK_LEEWAY_SECONDS": "3600"}, "HOTGIGS_OIDC_CLOCK_LEEWAY_SECONDS"),
        ({"HOTGIGS_OIDC_ALLOW_HTTP_LOOPBACK": "maybe"}, "HOTGIGS_OIDC_ALLOW_HTTP_LOOPBACK"),
    ])
    def test_bad_values_name_the_variable(self, environ: dict[str, str], variable: str) -> None:
        with pytest.raises(ConfigError, match=variable):
            Settings.from_env(environ)

    def test_http_is_allowed_on_loopback_only_when_asked(self) -> None:
        environ = {"HOTGIGS_OIDC_PROVIDERS": "corp", "HOTGIGS_OIDC_CORP_CLIENT_IDS": "x",
                   "HOTGIGS_OIDC_CORP_ISSUER": "http://127.0.0.1:9000",
                   "HOTGIGS_OIDC_ALLOW_HTTP_LOOPBACK": "on"}
        [provider] = Settings.from_env(environ).oidc_providers
        assert provider.allow_http_loopback
        with pytest.raises(ConfigError, match="HOTGIGS_OIDC_CORP_ISSUER"):
            Settings.from_env({**environ, "HOTGIGS_OIDC_CORP_ISSUER": "http://10.0.0.5:9000"})

    def test_http_on_loopback_is_refused_in_production(self) -> None:
        with pytest.raises(ConfigError, match="HOTGIGS_OIDC_ALLOW_HTTP_LOOPBACK"):
            Settings.from_env({"HOTGIGS_ENV": "production", "JWT_SECRET_KEY": STRONG_SECRET,
                               "DATABASE_URL": "postgresql://db/x", "CACHE_REDIS_URL": "redis://r",
                               "HOTGIGS_PROXY_SECRET": "p" * 20,
                               "HOTGIGS_OIDC_ALLOW_HTTP_LOOPBACK": "on"})
