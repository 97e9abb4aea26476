"""Build `hotgigs-api`, the Python stubs wheel internal callers install (`make stubs`).

The wheel holds the generated messages and gRPC stubs of `protos/hotgigs/v1` as the package
`hotgigs_api.v1` (imports rewritten from `hotgigs.v1`, so it installs beside anything, the
server included), the gRPC service config (`hotgigs_api.SERVICE_CONFIG`, deadlines and retries)
and a channel helper. Its version is the API's, `protos/VERSION`; `buf breaking` in `make test`
keeps every release compatible with the one before. The zip is written directly (fixed
timestamps, sorted entries), so the same protos give the same bytes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import sys
import zipfile
from pathlib import Path
from typing import Final

from hotgigs.grpc_server import service_config

ROOT: Final = Path(__file__).resolve().parents[3]
GENERATED: Final = ROOT / "server" / "hotgigs" / "v1"
VERSION_FILE: Final = ROOT / "protos" / "VERSION"
DIST_NAME: Final = "hotgigs_api"
ZIP_DATE: Final = (1980, 1, 1, 0, 0, 0)
REQUIRES: Final = ("grpcio>=1.85.1", "protobuf>=7.35.1,<8", "googleapis-common-protos>=1.76.0")

INIT: Final = '''"""HotGigs API stubs (generated from protos/hotgigs/v1; do not edit).

    import grpc
    import hotgigs_api
    from hotgigs_api.v1 import jobs_pb2, jobs_pb2_grpc

    channel = grpc.insecure_channel("api.internal:50051", options=hotgigs_api.channel_options())
    jobs = jobs_pb2_grpc.JobServiceStub(channel)
    page = jobs.SearchJobs(jobs_pb2.SearchJobsRequest(search="python"),
                           metadata=[("x-api-key", KEY)])
"""

from __future__ import annotations

import importlib.resources
from typing import Any

__version__ = API_VERSION = "{version}"
# The gRPC service config: a deadline for every method, retries (UNAVAILABLE) for reads only.
SERVICE_CONFIG: str = importlib.resources.files(__name__).joinpath(
    "service_config.json").read_text(encoding="utf-8")


def channel_options(*extra: tuple[str, Any]) -> list[tuple[str, Any]]:
    """Channel options that apply the service config (and turn retries on)."""
    return [("grpc.service_config", SERVICE_CONFIG), ("grpc.enable_retries", 1), *extra]
'''


def api_version() -> str:
    version = VERSION_FILE.read_text().strip()
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise SystemExit(f"{VERSION_FILE}: expected MAJOR.MINOR.PATCH, found {version!r}")
    return version


def _rewrite(text: str) -> str:
    text = text.replace("from hotgigs.v1 import ", f"from {DIST_NAME}.v1 import ")
    return re.sub(r"'hotgigs\.v1\.(\w+_pb2)'", rf"'{DIST_NAME}.v1.\1'", text)


def contents(version: str) -> dict[str, bytes]:
    """The wheel's files (path -> bytes) without the RECORD."""
    if not any(GENERATED.glob("*_pb2_grpc.py")):
        raise SystemExit(f"no generated stubs in {GENERATED}; run `make protos`")
    files = {
        f"{DIST_NAME}/__init__.py": INIT.replace("{version}", version).encode(),
        f"{DIST_NAME}/py.typed": b"",
        f"{DIST_NAME}/service_config.json": service_config.dumps().encode(),
        f"{DIST_NAME}/v1/__init__.py": b'"""Generated from protos/hotgigs/v1; do not edit."""\n',
    }
    for path in sorted(GENERATED.iterdir()):
        if path.name.endswith(("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")):
            files[f"{DIST_NAME}/v1/{path.name}"] = _rewrite(path.read_text()).encode()
    info = f"{DIST_NAME}-{version}.dist-info"
    requires = "".join(f"Requires-Dist: {requirement}\n" for requirement in REQUIRES)
    files[f"{info}/METADATA"] = (
        "Metadata-Version: 2.1\nName: hotgigs-api\n"
        f"Version: {version}\nSummary: HotGigs gRPC API: Python messages, stubs and service config\n"
        f"Requires-Python: >=3.9\n{requires}").encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: hotgigs.dev.stubs_wheel\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    files[f"{info}/top_level.txt"] = f"{DIST_NAME}\n".encode()
    return files


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}\n"


def build(output_dir: Path) -> Path:
    """Write the wheel into `output_dir` and return its path."""
    version = api_version()
    files = contents(version)
    record_name = f"{DIST_NAME}-{version}.dist-info/RECORD"
    files[record_name] = ("".join(_record_line(name, data) for name, data in files.items())
                          + f"{record_name},,\n").encode()
    output_dir.mkdir(parents=True, exist_ok=True)
    wheel = output_dir / f"{DIST_NAME}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return wheel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", type=Path, default=ROOT / "dist",
                        help="where to write the wheel (default: dist/)")
    args = parser.parse_args(argv)
    print(build(args.output_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
