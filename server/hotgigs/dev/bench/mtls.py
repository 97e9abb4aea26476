"""The cost of mutual TLS on the Envoy -> worker hop (`python -m hotgigs.dev.bench.mtls`).

Two stacks side by side on embedded PostgreSQL and Redis: one worker behind one Envoy in
plaintext (h2c), and one worker behind another Envoy over mutual TLS (certificates from
hotgigs.dev.certs). wrk sends `GET /api/health` (or --path) through each Envoy in turn,
alternating plaintext and mTLS `--rounds` times; each case reports requests per second and the
CPU milliseconds per request of that stack's Envoy and worker (from /proc: utime + stime), so
other load on the machine counts less than in wall-clock figures. Envoy keeps its HTTP/2
connections to the worker open, so the figures are the steady-state cost (encryption of every
frame), not that of handshakes.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from hotgigs import runtime
from hotgigs.dev import certs, stack
from hotgigs.dev import workers as dev_workers
from hotgigs.dev.bench import cpu, loadgen, scripts
from hotgigs.dev.embedded import free_port
from hotgigs.settings import Address, Settings, TlsFiles

JWT_SECRET = "bench-only-jwt-secret-0123456789-0123456789"  # noqa: S105 - a throwaway stack's
LIMITS = ("RATE_LIMIT_PER_MINUTE", "RATE_LIMIT_PER_HOUR", "AUTH_RATE_LIMIT_PER_MINUTE",
          "AUTH_RATE_LIMIT_PER_HOUR")


@dataclasses.dataclass
class Pair:
    """One worker behind one Envoy, and their pids (whose CPU is counted)."""

    label: str
    base_url: str
    pids: dict[str, int]


def _ticks(pid: int) -> int:
    times = cpu.read_process(pid)
    if times is None:
        raise RuntimeError(f"process {pid} is gone")
    return times.ticks


@contextlib.contextmanager
def _pair(label: str, base: Settings, deps: runtime.Dependencies, folder: Path,
          worker_tls: TlsFiles | None, envoy_tls: TlsFiles | None) -> Iterator[Pair]:
    folder.mkdir(parents=True, exist_ok=True)
    settings = dataclasses.replace(
        base, data_dir=folder, grpc_tls=worker_tls, envoy_tls=envoy_tls,
        envoy_upstream_tls=envoy_tls is not None, envoy_access_log="/dev/null",
        http_address=Address("127.0.0.1", free_port()),
        envoy_admin_address=Address("127.0.0.1", free_port()))
    env = {"JWT_SECRET_KEY": JWT_SECRET, "HOTGIGS_DATA_DIR": str(folder), "HOTGIGS_LOG_LEVEL": "WARNING",
           "HOTGIGS_METRICS_ADDRESS": "off", **dict.fromkeys(LIMITS, "1000000")}
    if worker_tls is not None:
        env.update({"HOTGIGS_GRPC_TLS_CERT_FILE": str(worker_tls.cert_file),
                    "HOTGIGS_GRPC_TLS_KEY_FILE": str(worker_tls.key_file),
                    "HOTGIGS_GRPC_TLS_CLIENT_CA_FILE": str(worker_tls.ca_file)})
    with dev_workers.supervised_workers(settings, deps, 1, extra_env=env) as supervisor, \
            stack.envoy(settings, supervisor.ports) as envoy:
        if envoy.process is None:
            raise RuntimeError("Envoy did not start")
        yield Pair(label, f"http://{settings.http_address}",
                   {"envoy": envoy.process.pid, "worker": supervisor.pid(0)})


def _case(pair: Pair, path: str, seconds: float, connections: int, workdir: Path) -> dict[str, float]:
    with httpx.Client(base_url=pair.base_url, timeout=10) as client:  # warm: connections open
        for _ in range(50):
            client.get(path).raise_for_status()
    before = {name: _ticks(pid) for name, pid in pair.pids.items()}
    result = loadgen.wrk(f"mtls {pair.label}", "envoy", pair.base_url + path, scripts.plain_get(),
                         seconds=seconds, connections=connections, workdir=workdir, threads=1)
    used = {name: (_ticks(pid) - before[name]) / cpu.CLOCK_TICKS_PER_SECOND
            for name, pid in pair.pids.items()}
    if result.errors:
        raise RuntimeError(f"{result.errors} errors on {pair.label}")
    per_request = {f"{name}_cpu_ms": 1000 * value / max(1, result.requests) for name, value in used.items()}
    return {"rate": result.rate, "p50_ms": result.percentiles_ms[50], **per_request,
            "cpu_ms": sum(per_request.values())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotgigs.dev.bench.mtls", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="per case (default 5)")
    parser.add_argument("--rounds", type=int, default=2, help="plaintext/mTLS pairs (default 2)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--path", default="/api/health", help="the REST path (default /api/health)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hotgigs-bench-mtls-") as temp:
        root = Path(temp)
        paths = certs.write_set(root / "certs")
        folder = paths["ca"].parent
        worker = TlsFiles(folder / "worker.crt", folder / "worker.key", folder / "ca.crt")
        envoy = TlsFiles(folder / "envoy.crt", folder / "envoy.key", folder / "ca.crt")
        base = Settings(environment="development", data_dir=root, jwt_secret_key=JWT_SECRET,
                        grpc_address=Address("127.0.0.1", 0), metrics_address=None,
                        rate_limit_per_minute=1_000_000, rate_limit_per_hour=1_000_000,
                        proxy_secret="bench-proxy-secret-0123456789")  # noqa: S106 - throwaway
        cases: dict[str, list[dict[str, float]]] = {"plaintext": [], "mtls": []}
        with stack.dependencies(base) as deps, contextlib.ExitStack() as pairs:
            runtime.migrate_to_head(deps)
            plain = pairs.enter_context(_pair("plaintext", base, deps, root / "plain", None, None))
            mutual = pairs.enter_context(_pair("mtls", base, deps, root / "mtls", worker, envoy))
            time.sleep(1)
            for round_number in range(args.rounds):
                for pair in (plain, mutual):
                    figures = _case(pair, args.path, args.seconds, args.connections, root)
                    cases[pair.label].append(figures)
                    print(f"round {round_number + 1} {pair.label:9} {figures['rate']:8.0f} req/s  "
                          f"p50 {figures['p50_ms']:.2f} ms  CPU/request: envoy "
                          f"{figures['envoy_cpu_ms']:.3f} ms, worker {figures['worker_cpu_ms']:.3f} ms",
                          flush=True)
    medians = {label: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
               for label, runs in cases.items()}
    extra = medians["mtls"]["cpu_ms"] - medians["plaintext"]["cpu_ms"]
    print(f"\nGET {args.path} through Envoy, {args.connections} connections, {args.seconds:.0f} s "
          f"per case, medians of {args.rounds}: mTLS adds {extra * 1000:.0f} us CPU per request "
          f"(envoy + worker: {medians['plaintext']['cpu_ms']:.3f} -> {medians['mtls']['cpu_ms']:.3f} ms), "
          f"{medians['plaintext']['rate']:.0f} -> {medians['mtls']['rate']:.0f} req/s")
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": cases, "medians": medians}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
