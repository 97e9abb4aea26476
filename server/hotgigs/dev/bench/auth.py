"""CPU per call of the authentication path (`python -m hotgigs.dev.bench.auth`).

Two figures per credential, on real embedded PostgreSQL and Redis in one process:
  interceptor   the auth interceptor alone (`AuthInterceptor.around`), microseconds of CPU per
                call, for a warm caller (its session or key row cached, as on a busy worker)
  grpc call     one whole authenticated RPC (`UserService.GetProfile`) over a loopback channel,
                client and server in this process, CPU microseconds per call (process time)
Credentials: a JWT (bearer access token) and, where the code has them, a service-account API
key (x-api-key). Medians of `--rounds` rounds; CPU time, so other load on the machine matters
less than for wall-clock figures.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc

from hotgigs import context as request_context
from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.dev.embedded import EmbeddedPostgres, EmbeddedRedis
from hotgigs.grpc_server import security_interceptors
from hotgigs.grpc_server.server import Security, create_server
from hotgigs.migrate import upgrade
from hotgigs.settings import Address, Settings
from hotgigs.v1 import auth_pb2, auth_pb2_grpc, users_pb2, users_pb2_grpc

METHOD = "/hotgigs.v1.UserService/GetProfile"


class _Context:
    """The parts of a ServicerContext the auth interceptor reads."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self.metadata = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self.metadata

    def peer(self) -> str:
        return "ipv4:127.0.0.1:40000"


def _cpu_per_call(run: Callable[[], None], calls: int, rounds: int) -> float:
    """Median CPU microseconds per call over `rounds` rounds of `calls` calls."""
    figures = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(calls):
            run()
        figures.append((time.process_time() - start) / calls * 1e6)
    return statistics.median(figures)


@contextlib.contextmanager
def _stack(workdir: Path) -> Iterator[tuple[Settings, Database, Cache]]:
    postgres, redis = EmbeddedPostgres(workdir / "pg"), EmbeddedRedis(workdir / "redis")
    postgres.start()
    redis.start()
    try:
        upgrade(postgres.url, "head")
        settings = Settings(environment="test", data_dir=workdir, grpc_address=Address("127.0.0.1", 0),
                            jwt_secret_key=secrets.token_urlsafe(32),
                            proxy_secret=secrets.token_urlsafe(16), metrics_address=None,
                            rpc_telemetry=False, rate_limit_per_minute=10**6,
                            rate_limit_per_hour=10**7, auth_rate_limit_per_minute=10**6,
                            auth_rate_limit_per_hour=10**7, **_key_settings())
        database, cache = Database(postgres.url), Cache(redis.url)
        try:
            yield settings, database, cache
        finally:
            cache.close()
            database.dispose()
    finally:
        redis.stop()
        postgres.stop()


def _key_settings() -> dict[str, Any]:
    fields = Settings.__dataclass_fields__
    if "api_key_pepper" not in fields:
        return {}
    return {"api_key_pepper": secrets.token_urlsafe(32),
            "service_account_rate_limit_per_minute": 10**6,
            "service_account_rate_limit_per_hour": 10**7}


def _api_key(database: Database, settings: Settings, owner_id: int) -> str | None:
    try:
        from hotgigs.service_accounts import service
    except ImportError:  # code from before service accounts
        return None
    with database.session_scope() as session:
        _, issued = service.create(session, actor=None, pepper=settings.api_key_pepper,
                                   account_in=service.AccountIn(name="bench", owner_id=owner_id,
                                                                scopes=("users.read",)))
    return issued.key


def _interceptor(settings: Settings, security: Security) -> Any:
    kwargs: dict[str, Any] = {}
    if "keys" in inspect.signature(security_interceptors.AuthInterceptor).parameters:
        kwargs["keys"] = security.keys
    return security_interceptors.AuthInterceptor(security.tokens, security.access,
                                                 settings.proxy_secret, **kwargs)


def measure(calls: int, rounds: int) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hotgigs-bench-auth-") as tmp, \
            _stack(Path(tmp)) as (settings, database, cache):
        server = create_server(settings, database, cache)
        server.start()
        try:
            with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                auth = auth_pb2_grpc.AuthServiceStub(channel)  # type: ignore[no-untyped-call]
                account = auth.Register(auth_pb2.RegisterRequest(
                    email="bench@example.com", password=f"Bx7!{secrets.token_urlsafe(12)}",
                    first_name="Bench",
                    last_name="User", user_type="candidate"))
                credentials = {"jwt": (("authorization", f"Bearer {account.access_token}"),)}
                key = _api_key(database, settings, account.user.id)
                if key is not None:
                    credentials["api_key"] = (("x-api-key", key),)
                users = users_pb2_grpc.UserServiceStub(channel)  # type: ignore[no-untyped-call]
                security = Security.from_settings(settings, database, cache)
                interceptor = _interceptor(settings, security)
                for name, metadata in credentials.items():
                    fake = _Context(metadata)

                    def intercept(fake: _Context = fake) -> None:
                        token = request_context.activate(
                            request_context.RequestContext(request_id="bench", method=METHOD))
                        try:
                            with interceptor.around(METHOD, fake, False):
                                pass
                        finally:
                            request_context.reset(token)

                    def call(metadata: tuple[tuple[str, str], ...] = metadata) -> None:
                        users.GetProfile(users_pb2.GetProfileRequest(), metadata=metadata, timeout=10)

                    call()
                    intercept()  # warm: the verdict or key row cached
                    results[f"{name}_interceptor_us"] = _cpu_per_call(intercept, calls * 10, rounds)
                    results[f"{name}_grpc_call_us"] = _cpu_per_call(call, calls, rounds)
        finally:
            server.stop(0)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000, help="calls per round (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    args = parser.parse_args(argv)
    for name, value in measure(args.calls, args.rounds).items():
        print(f"{name:28s} {value:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
