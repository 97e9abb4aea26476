"""The import graph of the domain modules: edges, longest chain and cycles.

`python -m hotgigs.dev.import_graph` prints it (`--json` for a machine-readable form). Every
import counts, lazy ones inside functions included, so a cycle hidden by a deferred import is
still a cycle. The architecture tests (tests/test_architecture.py) use the same functions.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

PACKAGE = "hotgigs"
ROOT = Path(__file__).resolve().parents[1]  # server/hotgigs
# The ten domain modules (each a folder with servicer/service/queries/convert/policy).
DOMAIN_MODULES = ("auth", "users", "companies", "jobs", "applications", "documents", "analytics",
                  "ai", "candidates", "notifications", "service_accounts", "operations",
                  "audit", "privacy")


def source_files(root: Path = ROOT) -> Iterator[Path]:
    """The package's own Python files (generated protos and migrations excluded)."""
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if parts[0] in {"v1", "migrations"}:
            continue
        yield path


def module_name(path: Path, root: Path = ROOT) -> str:
    """`server/hotgigs/jobs/service.py` -> `hotgigs.jobs.service`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def imported_names(tree: ast.AST, importer: str, is_package: bool) -> Iterator[str]:
    """Every `hotgigs...` name one file imports, at any depth (lazy imports count).
    `from hotgigs.jobs import service` yields `hotgigs.jobs.service` and `hotgigs.jobs`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = importer.split(".")
                if not is_package:
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            if base.split(".")[0] != PACKAGE:
                continue
            yield base
            for alias in node.names:
                yield f"{base}.{alias.name}"


def domain_of(name: str) -> str | None:
    """The domain module a dotted name belongs to, or None (shared kernel, tooling, protos)."""
    parts = name.split(".")
    if len(parts) >= 2 and parts[0] == PACKAGE and parts[1] in DOMAIN_MODULES:
        return parts[1]
    return None


@dataclasses.dataclass(frozen=True)
class Edge:
    """One import from a file of `source` into `target` (both domain modules)."""

    source: str
    target: str
    file: str
    line: int
    imported: str


def domain_edges(root: Path = ROOT) -> list[Edge]:
    """Imports from one domain module into another, one entry per importing statement."""
    edges: list[Edge] = []
    for path in source_files(root):
        importer = module_name(path, root)
        source = domain_of(importer)
        if source is None:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            targets = {domain_of(name) for name in imported_names(node, importer,
                                                                   path.name == "__init__.py")}
            for target in sorted(t for t in targets if t and t != source):
                edges.append(Edge(source, target, str(path.relative_to(root.parent)), node.lineno,
                                  _describe(node)))
    return edges


def _describe(node: ast.Import | ast.ImportFrom) -> str:
    if isinstance(node, ast.Import):
        return "import " + ", ".join(alias.name for alias in node.names)
    return f"from {'.' * node.level}{node.module or ''} import " + ", ".join(a.name for a in node.names)


def graph(edges: Iterable[Edge]) -> dict[str, set[str]]:
    """Adjacency sets over the domain modules."""
    adjacency: dict[str, set[str]] = {module: set() for module in DOMAIN_MODULES}
    for edge in edges:
        adjacency[edge.source].add(edge.target)
    return adjacency


def cycles(adjacency: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(adjacency[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(adjacency):
        if node not in index:
            visit(node)
    return sorted(found)


def longest_chain(adjacency: dict[str, set[str]]) -> list[str]:
    """The longest import chain (modules in a cycle are followed once each)."""
    best: list[str] = []

    def walk(path: list[str]) -> None:
        nonlocal best
        if len(path) > len(best):
            best = list(path)
        for nxt in sorted(adjacency[path[-1]]):
            if nxt not in path:
                walk([*path, nxt])

    for start in sorted(adjacency):
        walk([start])
    return best


def report(root: Path = ROOT) -> dict[str, object]:
    edges = domain_edges(root)
    adjacency = graph(edges)
    chain = longest_chain(adjacency)
    return {
        "modules": {module: sorted(targets) for module, targets in sorted(adjacency.items())},
        "edges": len({(e.source, e.target) for e in edges}),
        "depth": len(chain),
        "longest_chain": chain,
        "cycles": cycles(adjacency),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    result = report()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    modules = result["modules"]
    assert isinstance(modules, dict)  # noqa: S101  # narrows the JSON-shaped report for mypy
    for module, targets in modules.items():
        print(f"{module:14} -> {', '.join(targets) or '-'}")
    chain = result["longest_chain"]
    assert isinstance(chain, list)  # noqa: S101  # as above
    print(f"edges: {result['edges']}  depth: {result['depth']} ({' -> '.join(chain)})")
    print(f"cycles: {result['cycles'] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
