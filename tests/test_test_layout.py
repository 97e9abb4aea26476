"""Test modules share helpers only through tests/support/ and tests/factories.py (or a package's
own non-test helper module, such as tests/faults/support.py): never by importing another test
module or a conftest, which couples one module's tests to another's internals."""

from __future__ import annotations

import ast
from pathlib import Path, PurePosixPath

TESTS = Path(__file__).resolve().parent


def _is_test_module(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return module.startswith("tests.") and (last.startswith("test_") or last == "conftest")


def _imports(source: str, relative: PurePosixPath) -> list[tuple[int, str]]:
    """(line, module) of every module a file at tests/`relative` imports, relative imports
    resolved; for `from X import name` both X and X.name (name may be a module)."""
    package = ["tests", *relative.parent.parts]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*parts, *([node.module] if node.module else [])])
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return found


def test_no_test_module_imports_another() -> None:
    offenders = [f"tests/{relative}:{line}: imports {module}"
                 for path in sorted(TESTS.rglob("*.py"))
                 for relative in [PurePosixPath(path.relative_to(TESTS).as_posix())]
                 for line, module in _imports(path.read_text(), relative) if _is_test_module(module)]
    assert offenders == [], ("move the helper to tests/support/ or tests/factories.py:\n"
                             + "\n".join(offenders))


def test_the_check_sees_each_way_of_importing_a_test_module() -> None:
    source = ("from tests.jobs.test_jobs_rest import employer\nfrom tests.jobs import test_jobs_rest\n"
              "from .test_search_cache import x\nimport tests.conftest\n"
              "from tests.support.rest import bearer\nfrom tests import factories\nfrom . import support\n")
    caught = {(line, module) for line, module in _imports(source, PurePosixPath("jobs/test_sample.py"))
              if _is_test_module(module)}
    assert caught == {(1, "tests.jobs.test_jobs_rest"), (2, "tests.jobs.test_jobs_rest"),
                      (3, "tests.jobs.test_search_cache"), (4, "tests.conftest")}
