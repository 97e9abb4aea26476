"""Settings come from the environment, validated, with errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotgigs.settings import DEVELOPMENT_JWT_SECRET, Address, ConfigError, Settings

STRONG_SECRET = "x" * 40


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
            "HOTGIGS_ENV": "test", "JWT_SECRET_KEY": STRONG_SECRET,
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
    ])
    def test_bad_value_names_the_variable(self, environ: dict[str, str], variable: str) -> None:
        with pytest.raises(ConfigError, match=variable):
            Settings.from_env(environ)

    def test_secret_is_required_outside_development(self) -> None:
        """No secret has a default outside the development profile."""
        with pytest.raises(ConfigError, match="JWT_SECRET_KEY is required"):
            Settings.from_env({"HOTGIGS_ENV": "test"})

    def test_production_requires_real_servers(self) -> None:
        with pytest.raises(ConfigError, match="DATABASE_URL and CACHE_REDIS_URL"):
            Settings.from_env({"HOTGIGS_ENV": "production", "JWT_SECRET_KEY": STRONG_SECRET})


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
            Settings.from_env({"HOTGIGS_ENV": "test", "JWT_SECRET_KEY": DEVELOPMENT_JWT_SECRET})


def test_every_setting_is_documented_in_both_environment_examples() -> None:
    """.env.example (development) and deploy/hotgigs.env.example (the units' file) list every
    variable settings.py reads, set or commented out."""
    import re

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
