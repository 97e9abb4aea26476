"""The `hotgigs` command: run the stack, the gRPC server alone, migrations, Envoy's config."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from hotgigs.keys import cli as keys_cli
from hotgigs.service_accounts import cli as service_accounts_cli
from hotgigs.settings import ConfigError, EdgeSettings, Settings

if TYPE_CHECKING:
    from hotgigs.runtime import Dependencies

log = structlog.get_logger(__name__)

DESCRIPTION = """\
HotGigs backend: gRPC services for the job platform, REST through Envoy.

Configuration comes from environment variables (see .env.example). With DATABASE_URL or
CACHE_REDIS_URL unset (development and test only), real PostgreSQL and Redis servers from
the embedded wheels are started with their data under HOTGIGS_DATA_DIR (default ./var).
`up` and `seed` are development tooling: the production wheel leaves them out.
"""

EPILOG = """\
examples:
  hotgigs up                        everything on the embedded defaults (what `make run` does)
  hotgigs serve                     only the gRPC server (production: DATABASE_URL etc. set)
  hotgigs migrate                   upgrade the schema to the newest revision (as MIGRATION_DATABASE_URL)
  hotgigs migrate downgrade base    remove every table again
  hotgigs seed --jobs 100000 --candidates 20000 --random-seed 7
  hotgigs envoy-config --grpc-port 50051 > envoy.yaml
  hotgigs dev-certs >> .env         local mTLS certificates (development only, not for production)
  hotgigs verify --url https://hotgigs.example
  hotgigs visibility-table          who sees which response field (markdown)
  hotgigs service-account create payroll-sync --owner ops@example.com --scope jobs.read
  hotgigs keys status               the encryption keys at rest; `hotgigs keys rotate` moves data
  hotgigs keys jwt-add --activate   a new JWT signing key; older tokens still verify
"""


class DevToolingMissing(ConfigError):
    """A development command ran where hotgigs.dev is not installed (the production wheel)."""

    def __init__(self, command: str) -> None:
        super().__init__(f"`hotgigs {command}` is development tooling, which this install leaves out "
                         "(the production wheel); run it from a checkout after `make setup`")


@contextlib.contextmanager
def _dependencies(settings: Settings) -> Iterator[Dependencies]:
    """The configured servers; in a development install, embedded ones for those unset."""
    from hotgigs import runtime

    try:
        from hotgigs.dev import stack
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("hotgigs.dev"):
            raise
        with runtime.dependencies(settings) as deps:
            yield deps
        return
    with stack.dependencies(settings) as deps:
        yield deps


def _settings(*, server: bool = False) -> Settings:
    """The settings from the environment, logging configured: on stdout for a `server` (its
    logs are its output), else on stderr, so that stdout holds only the command's result."""
    from hotgigs.telemetry.logging import configure_logging

    settings = Settings.from_env()
    configure_logging(settings, sys.stdout if server else sys.stderr)
    return settings


def command_up(args: argparse.Namespace) -> int:
    """Embedded or configured dependencies, migrations, the gRPC server and Envoy, until Ctrl-C."""
    try:
        from hotgigs.dev import prometheus_local, stack
        from hotgigs.dev.embedded import free_port
        from hotgigs.dev.workers import worker_processes
    except ModuleNotFoundError as error:
        raise DevToolingMissing("up") from error
    from hotgigs import runtime
    from hotgigs.grpc_server.server import wait_for_signal

    settings = _settings(server=True)
    with stack.dependencies(settings) as deps, contextlib.ExitStack() as extras:
        revision = runtime.migrate_to_head(deps)
        with contextlib.ExitStack() as serving:
            if args.workers > 1:
                ports = serving.enter_context(worker_processes(settings, deps, args.workers))
            else:
                ports = [serving.enter_context(runtime.grpc_service(settings, deps)).port]
            serving.enter_context(stack.envoy(settings, ports))
            admin = settings.envoy_admin_address
            observe = ""
            if args.observe and settings.metrics_address:

                metrics = settings.metrics_address  # worker n serves it on port + n
                url = extras.enter_context(prometheus_local.run(
                    {"hotgigs-api": [f"{metrics.host}:{metrics.port + n}" for n in range(len(ports))],
                     "hotgigs-envoy": f"{admin.host}:{admin.port}"},
                    settings.data_dir / "prometheus", free_port(), runbook_url=settings.runbook_url))
                observe = f"  Prometheus       {url}/ (rules and alerts loaded)"
            lines = [
                f"HotGigs is up ({settings.environment}, schema revision {revision}):",
                f"  Web app          http://{settings.http_address}/",
                f"  REST via Envoy   http://{settings.http_address}/api/health",
                "  gRPC             " + ", ".join(f"{settings.grpc_address.host}:{p}"
                                                   for p in ports)
                + (f" ({args.workers} worker processes)" if args.workers > 1 else "")
                + (" (mutual TLS)" if settings.grpc_tls else ""),
                *([f"  Internal gRPC    {settings.internal_grpc_address} (mutual TLS, via Envoy)"]
                  if settings.internal_grpc_address else []),
                f"  Envoy admin      http://{admin.host}:{admin.port}/",
                f"  Metrics          http://{settings.metrics_address}/metrics"
                if settings.metrics_address else "  Metrics          off",
                f"  Envoy metrics    http://{admin.host}:{admin.port}/stats/prometheus",
                *([observe] if observe else []),
                f"  PostgreSQL       {_redact(deps.database_url)}"
                + (f" (embedded, data in {settings.data_dir / 'postgres'})"
                   if deps.embedded_database else ""),
                f"  Redis            {_redact(deps.redis_url)}"
                + (f" (embedded, data in {settings.data_dir / 'redis'})" if deps.embedded_redis else ""),
                "Press Ctrl-C to stop.",
            ]
            print("\n".join(lines), flush=True)
            signum = wait_for_signal()
            print(f"Stopping (signal {signum}): Envoy, gRPC server, then the embedded servers...",
                  flush=True)
    print("Stopped.", flush=True)
    return 0


def command_serve(args: argparse.Namespace) -> int:
    """Only the gRPC server; drains in-flight RPCs on SIGTERM."""
    from hotgigs import runtime
    from hotgigs.grpc_server.server import wait_for_signal

    settings = _settings(server=True)
    with _dependencies(settings) as deps, \
            runtime.grpc_service(settings, deps, drain=True) as server:
        log.info("grpc_server_listening", address=f"{settings.grpc_address.host}:{server.port}")
        wait_for_signal()
    return 0


def command_migrate(args: argparse.Namespace) -> int:
    from hotgigs import migrate

    settings = _settings()
    with _dependencies(settings) as deps:
        url = deps.schema_owner_url  # MIGRATION_DATABASE_URL, else DATABASE_URL
        newer = migrate.unknown_revision(url) if args.action == "upgrade" else None
        if newer is not None:
            # A rollback to an older release: migrations are expand/contract (README), so this
            # release runs on the newer schema, which is left as it is.
            print(f"schema revision {newer} is newer than this release's newest ({migrate.head()}): "
                  "left as it is")
        elif args.action == "upgrade":
            migrate.upgrade(url, args.revision or "head")
        elif args.action == "downgrade":
            if not args.revision:
                raise ConfigError("downgrade needs a target revision, e.g. `hotgigs migrate downgrade base`")
            migrate.downgrade(url, args.revision)
        print(f"schema revision: {migrate.current(url) or 'base (empty)'}")
    return 0


def command_seed(args: argparse.Namespace) -> int:
    """Fill the database with synthetic companies, jobs, candidates and applications."""
    try:
        from hotgigs.dev import seed
    except ModuleNotFoundError as error:
        raise DevToolingMissing("seed") from error
    from hotgigs import runtime

    settings = _settings()
    if settings.environment == "production" and not args.force:
        raise ConfigError("refusing to seed a production database (use --force if you mean it)")
    size = seed.SeedSize(companies=args.companies, jobs=args.jobs, candidates=args.candidates,
                         applications=args.applications)
    with _dependencies(settings) as deps:
        runtime.migrate_to_head(deps)
        from hotgigs.security.encryption import KeyRing

        seed.main(deps.schema_owner_url, size, args.random_seed,  # owner: ANALYZE at the end
                  KeyRing(settings.encryption_keks))
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def upstream_address(text: str) -> tuple[str, int]:
    """An `--upstream` value: IP:PORT or [IPv6]:PORT (Envoy's static cluster takes addresses,
    not names)."""
    import ipaddress

    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"{text!r}: expected HOST:PORT, e.g. 10.0.0.11:50051")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise argparse.ArgumentTypeError(f"{text!r}: IPv6 addresses go in brackets, e.g. [fd00::11]:50051")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the host must be an IP address (Envoy's static cluster does not "
            f"resolve names), e.g. 10.0.0.11:50051") from None
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: the port must be a number from 1 to 65535")
    return host, int(port_text)


DEV_CERTS_DESCRIPTION = """\
Make a THROWAWAY certificate authority and the certificates of a local mutual-TLS setup, for
development on this machine only. NOT FOR PRODUCTION: the CA's key is written beside its
certificate, certificates live 30 days, nothing revokes them. Production certificates come
from the project CA (the Ansible pki role).

Writes into FOLDER (mode 0700): ca.crt, ca.key, worker.crt/.key (the workers' certificate),
envoy.crt/.key (Envoy: its client certificate towards the workers and the internal listener's
server certificate), client.crt/.key (an internal caller). Then prints the settings that use
them (append to .env, or export them); `hotgigs up` then serves gRPC over mTLS and opens the
internal endpoint.
"""


def command_dev_certs(args: argparse.Namespace) -> int:
    try:
        from hotgigs.dev import certs
    except ModuleNotFoundError as error:
        raise DevToolingMissing("dev-certs") from error
    folder: Path = args.out
    if (folder / "ca.crt").exists() and not args.force:
        raise ConfigError(f"{folder / 'ca.crt'} exists: use --force to make a new CA (every "
                          "certificate in the folder is replaced)")
    sans = tuple(dict.fromkeys([*certs.DEFAULT_SANS, *args.san]))
    certs.write_set(folder, sans, days=args.days)
    print(f"# development certificates (NOT for production) in {folder.resolve()}, "
          f"server names {', '.join(sans)}", file=sys.stderr)
    print(certs.environment(folder))
    return 0


def command_visibility_table(args: argparse.Namespace) -> int:
    """Print who sees which response field (the README's "Who sees what" table)."""
    from hotgigs import visibility

    sys.stdout.write(visibility.table())
    return 0


def command_envoy_config(args: argparse.Namespace) -> int:
    from hotgigs import runtime
    from http_bridge import envoy_config

    settings = EdgeSettings.from_env()  # Envoy's own settings: an edge has no database or signing key
    descriptor = args.descriptor_set or runtime.descriptor_path()
    if not descriptor.is_file():
        raise ConfigError(f"--descriptor-set {descriptor}: no such file")
    options = runtime.envoy_options(settings, args.grpc_port or settings.grpc_address.port, descriptor)
    if args.upstream:
        options = dataclasses.replace(options, upstreams=list(dict.fromkeys(args.upstream)))
    sys.stdout.write(envoy_config.to_yaml(envoy_config.render(options)))
    return 0


def _redact(url: str) -> str:
    """Hide a password in a URL before printing it."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<configured>"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotgigs", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = commands.add_parser(
        "up", aliases=["dev"], help="run the whole stack: PostgreSQL, Redis, migrations, gRPC, Envoy "
        "(development)",
        description=command_up.__doc__)
    up.add_argument("--workers", type=int, default=1, choices=range(1, 10), metavar="N",
                    help="worker processes behind Envoy (1-9, default 1; ports from "
                         "HOTGIGS_GRPC_ADDRESS upwards)")
    up.add_argument("--observe", action="store_true",
                    help="also run Prometheus (Debian package) against the stack")
    up.set_defaults(handler=command_up)
    serve = commands.add_parser("serve", help="run the gRPC server only (SIGTERM drains it)",
                                description=command_serve.__doc__)
    serve.set_defaults(handler=command_serve)
    mig = commands.add_parser("migrate", help="upgrade or downgrade the database schema (Alembic)",
                              description="Apply Alembic migrations as the schema owner: "
                                          "MIGRATION_DATABASE_URL, else DATABASE_URL (or the "
                                          "embedded database's hotgigs_migrate role).")
    mig.add_argument("action", nargs="?", choices=("upgrade", "downgrade", "current"),
                     default="upgrade", help="what to do (default: upgrade)")
    mig.add_argument("revision", nargs="?", help="target revision (upgrade default: head; "
                                                  "downgrade: required, e.g. base or -1)")
    mig.set_defaults(handler=command_migrate)
    seed_cmd = commands.add_parser(
        "seed", help="fill the database with realistic synthetic data (repeatable; development)",
        description=(command_seed.__doc__ or "") + " The same --random-seed gives the same data; "
        "the seeded accounts' password is printed at the end.")
    seed_cmd.add_argument("--companies", type=_positive, default=200, help="default: 200")
    seed_cmd.add_argument("--jobs", type=_positive, default=2000, help="default: 2000")
    seed_cmd.add_argument("--candidates", type=_positive, default=500, help="default: 500")
    seed_cmd.add_argument("--applications", type=_positive, default=2000, help="default: 2000")
    seed_cmd.add_argument("--random-seed", type=int, default=42, help="default: 42")
    seed_cmd.add_argument("--force", action="store_true",
                          help="allow seeding when HOTGIGS_ENV=production")
    seed_cmd.set_defaults(handler=command_seed)
    verify = commands.add_parser(
        "verify", add_help=False, help="post-deployment checks against a URL (integration, "
        "performance, security); `hotgigs verify --help`")
    verify.set_defaults(handler=None)
    env = commands.add_parser(
        "envoy-config", help="print the Envoy config rendered from settings",
        description="Print the Envoy bootstrap YAML for these settings. Envoy routes to the\n"
                    "worker at HOTGIGS_GRPC_ADDRESS (its port replaced by --grpc-port), or to every\n"
                    "--upstream given (each worker of each API host), with active gRPC health checks.",
        epilog="example (an edge in front of two API hosts with two workers each):\n"
               "  hotgigs envoy-config --upstream 127.0.0.1:50051 --upstream 127.0.0.1:50052 \\\n"
               "      --upstream 10.0.0.12:50051 --upstream 10.0.0.12:50052",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    workers = env.add_mutually_exclusive_group()
    workers.add_argument("--grpc-port", type=int,
                         help="one upstream gRPC port on HOTGIGS_GRPC_ADDRESS's host (default: its port)")
    workers.add_argument("--upstream", action="append", type=upstream_address, metavar="IP:PORT",
                         help="a worker Envoy routes to (repeat for each worker; IPv6 as "
                              "[ADDR]:PORT); replaces HOTGIGS_GRPC_ADDRESS")
    env.add_argument("--descriptor-set", type=Path, metavar="FILE",
                     help="the descriptor set Envoy loads (default: the one in the installed "
                          "package); openapi.json is served from the same folder")
    env.set_defaults(handler=command_envoy_config)
    dev_certs = commands.add_parser(
        "dev-certs", help="make a throwaway CA and mTLS certificates for local use (NOT for "
        "production)", description=DEV_CERTS_DESCRIPTION,
        epilog="example:\n  hotgigs dev-certs --out var/dev-certs >> .env && hotgigs up --workers 2",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    dev_certs.add_argument("--out", type=Path, default=Path("var/dev-certs"), metavar="FOLDER",
                           help="where to write them (default var/dev-certs)")
    dev_certs.add_argument("--san", action="append", default=[], metavar="NAME_OR_IP",
                           help="another name or IP address of the server certificates (repeat)")
    dev_certs.add_argument("--days", type=int, default=30, choices=range(1, 91), metavar="DAYS",
                           help="validity, 1-90 days (default 30)")
    dev_certs.add_argument("--force", action="store_true", help="replace an existing set")
    dev_certs.set_defaults(handler=command_dev_certs)
    table = commands.add_parser("visibility-table", help="print who sees which response field "
                                "(markdown)", description=command_visibility_table.__doc__)
    table.set_defaults(handler=command_visibility_table)
    service_accounts_cli.add_parser(commands)
    keys_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["verify"]:  # its own parser and --help
        from hotgigs.ops import verify

        return verify.main(arguments[1:])
    parser = build_parser()
    args = parser.parse_args(arguments)
    try:
        code: int = args.handler(args)
    except ConfigError as error:
        print(f"hotgigs: configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
