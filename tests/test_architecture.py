"""The module shape and its boundaries, kept by reading the code (README, "Module shape").

Every domain module under server/hotgigs/ has the same files with the same roles; these tests
fail on a NEW violation. `ALLOWED` lists the violations still in the tree, by rule and file with
their count; it must only shrink: a fixed violation must be removed from it (the tests fail on
a stale entry too), so the list shows what is left to convert. It is empty: keep it so.
"""

from __future__ import annotations

import ast
import collections
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotgigs import models
from hotgigs.dev import import_graph

ROOT = import_graph.ROOT
DOMAIN = import_graph.DOMAIN_MODULES
# queries.py only where the module owns tables (OWNERS) or is the read model.
SHAPE = ("servicer.py", "service.py", "queries.py", "convert.py", "policy.py")
# The declared read models: their queries.py may read every module's tables (analytics for
# reports; privacy because an export must show every row about a person, whoever keeps it).
READ_MODELS = ("analytics", "privacy")
# Which module owns (writes, and alone queries) each table. The account row is shared by auth
# (sign-up, credentials, state) and users (profile columns).
OWNERS: dict[str, tuple[str, ...]] = {
    "User": ("auth", "users"), "AuthSession": ("auth",), "RefreshToken": ("auth",),
    "OneTimeToken": ("auth",), "CandidateProfile": ("users",), "Experience": ("users",),
    "Education": ("users",), "Company": ("companies",), "CompanyMember": ("companies",),
    "CompanyInvitation": ("companies",), "Job": ("jobs",), "JobApplication": ("applications",),
    "ApplicationStatusHistory": ("applications",), "Document": ("documents",),
    "Notification": ("notifications",), "NotificationPreference": ("notifications",),
    "ServiceAccount": ("service_accounts",), "ServiceAccountKey": ("service_accounts",),
    "AuditEntry": ("audit",), "AiAnalysis": ("ai",), "UserIdentity": ("auth",),
}
# What a module may use of another: its use cases, and the pure functions that turn its
# entities into protobuf messages (for the messages that nest them).
PUBLIC_API = ("service", "convert")
# SQLAlchemy functions that build a statement.
STATEMENTS = frozenset({"select", "insert", "update", "delete", "text", "union", "union_all",
                        "exists", "values"})
# Session work a servicer leaves to its service.
SESSION_CALLS = frozenset({"execute", "scalar", "scalars", "get", "refresh", "flush", "add",
                           "add_all", "delete", "query", "merge", "expunge"})

# (rule, file) -> violations still in the tree. Shrinks to empty (see the module docstring).
ALLOWED: dict[tuple[str, str], int] = {}


def _files() -> Iterator[tuple[str, Path, ast.Module]]:
    for module in DOMAIN:
        for path in sorted((ROOT / module).glob("*.py")):
            yield module, path, ast.parse(path.read_text(), filename=str(path))


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT.parent))


def _sqlalchemy_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Local names bound to SQLAlchemy modules (`sa`) and to its statement functions."""
    modules, functions = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            for alias in node.names:
                if alias.name in STATEMENTS:
                    functions.add(alias.asname or alias.name)
                else:
                    modules.add(alias.asname or alias.name)  # e.g. `postgresql` for .insert
    return modules, functions


def _statements(tree: ast.Module) -> int:
    modules, functions = _sqlalchemy_names(tree)
    found = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        direct = isinstance(func, ast.Name) and func.id in functions
        qualified = (isinstance(func, ast.Attribute) and func.attr in STATEMENTS
                     and isinstance(func.value, ast.Name) and func.value.id in modules)
        if direct or qualified:
            found += 1
    return found


# SQL written out (`text(...)`, `exec_driver_sql(...)`) naming a table where a statement reads
# or writes it.
_TABLE_NAMES = {getattr(models, model).__tablename__: model for model in OWNERS}
_SQL_TABLE = re.compile(r'\b(?:from|join|into|update|table)\s+(?:only\s+)?(?:public\.)?"?(\w+)"?',
                        re.IGNORECASE)


def _literal(node: ast.expr, constants: dict[str, ast.expr]) -> str:
    """The literal text of a SQL argument: a string, an f-string's literal parts, a
    concatenation, or a module-level constant holding one of these."""
    if isinstance(node, ast.Name) and node.id in constants:
        node = constants[node.id]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal(part, constants) for part in node.values)
    if isinstance(node, ast.BinOp):
        return _literal(node.left, constants) + _literal(node.right, constants)
    return " "


def _text_tables(tree: ast.Module) -> list[str]:
    """The models (names of OWNERS) whose tables SQL written out in the file names."""
    modules, functions = _sqlalchemy_names(tree)
    constants = {target.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                 for target in node.targets if isinstance(target, ast.Name)}
    found: list[str] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = node.func
        text = (isinstance(func, ast.Name) and func.id == "text" and "text" in functions) or (
            isinstance(func, ast.Attribute) and func.attr == "text"
            and isinstance(func.value, ast.Name) and func.value.id in modules)
        driver = isinstance(func, ast.Attribute) and func.attr == "exec_driver_sql"
        if text or driver:
            sql = _literal(node.args[0], constants)
            found += [_TABLE_NAMES[name.lower()] for name in _SQL_TABLE.findall(sql)
                      if name.lower() in _TABLE_NAMES]
    return found


def _type_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under `if TYPE_CHECKING:` (names for annotations only)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            found.update(id(child) for child in ast.walk(node))
    return found


def _imports(tree: ast.Module, *, runtime_only: bool = False) -> Iterator[tuple[str, list[str]]]:
    """(module, imported names) of every `from` import and (module, []) of every import;
    `runtime_only` leaves out those under `if TYPE_CHECKING:`."""
    skip = _type_only(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


def _loose_signatures(tree: ast.Module) -> int:
    """Public use cases (functions of service.py taking the session first) whose other
    parameters are not keyword-only, or that take an untyped `Mapping`/`dict` of values
    instead of a typed `...In` dataclass."""
    found = 0
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        positional = [arg.arg for arg in node.args.posonlyargs + node.args.args]
        if positional[:1] == ["session"] and len(positional) > 1:
            found += 1
        annotations = [ast.unparse(arg.annotation) for arg in node.args.args + node.args.kwonlyargs
                       if arg.annotation is not None]
        found += sum(1 for text in annotations
                     if text.startswith(("Mapping[str, Any]", "dict[str, Any]")))
    return found


def _inputs_built(tree: ast.Module) -> int:
    """Calls that build a use case's `...In` input (`service.JobIn(...)`, `ListIn(...)`):
    a servicer leaves that to its convert.py."""
    found = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            found += bool(re.fullmatch(r"[A-Z]\w*In", name))
    return found


def violations() -> collections.Counter[tuple[str, str]]:
    """Every violation in the tree: (rule, file) -> count."""
    found: collections.Counter[tuple[str, str]] = collections.Counter()
    for module, path, tree in _files():
        name, where = path.name, _relative(path)
        # sql: statements are built only in the module's queries.py.
        if name != "queries.py":
            found["sql", where] += _statements(tree)
        for imported, names in _imports(tree):
            parts = imported.split(".")
            # proto: messages are built only in convert.py and servicer.py.
            if parts[:2] == ["hotgigs", "v1"] and name not in ("convert.py", "servicer.py"):
                found["proto", where] += 1
            # boundary: another module only through its public API (service, convert).
            if len(parts) >= 2 and parts[0] == "hotgigs" and parts[1] in DOMAIN \
                    and parts[1] != module:
                used = parts[2:3] or names
                found["boundary", where] += sum(1 for part in used if part not in PUBLIC_API)
        for imported, names in _imports(tree, runtime_only=True):
            # tables: another module's tables are read through its service, never queried
            # (convert.py and servicer.py may name its entities, as types of what they translate;
            # so may anyone under `if TYPE_CHECKING:`).
            if imported.startswith("hotgigs.models") and name not in ("convert.py", "servicer.py") \
                    and not (module in READ_MODELS and name == "queries.py"):
                found["tables", where] += sum(1 for model in names if model in OWNERS
                                              and module not in OWNERS[model])
            # convert: pure, so no session (it gets what it converts).
            if name == "convert.py" and (imported.startswith("sqlalchemy") or imported == "hotgigs.db"):
                found["convert", where] += 1
            # servicer: a translator owns no cache.
            if name == "servicer.py" and (imported == "hotgigs.cache" or imported.endswith(".cache")
                                          or (imported == f"hotgigs.{module}" and "cache" in names)):
                found["servicer", where] += 1
        # tables: nor named in SQL written out (anywhere but the read model's queries.py).
        if not (module in READ_MODELS and name == "queries.py"):
            found["tables", where] += sum(1 for model in _text_tables(tree)
                                          if module not in OWNERS[model])
        if name == "servicer.py":
            # servicer: requests become `...In` inputs in convert.py.
            found["servicer", where] += _inputs_built(tree)
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                target = node.func.value
                # servicer: no session work (only the scope that commits) and no HTTP status.
                if node.func.attr in SESSION_CALLS and isinstance(target, ast.Name) \
                        and target.id == "session":
                    found["servicer", where] += 1
                if node.func.attr == "set_http_status":
                    found["servicer", where] += 1
        if name == "service.py":
            found["signature", where] += _loose_signatures(tree)
    owning = {owner for owners in OWNERS.values() for owner in owners} | set(READ_MODELS)
    for module in DOMAIN:
        for required in SHAPE:
            if required == "queries.py" and module not in owning:
                continue  # a module without tables reads through other modules' services
            if not (ROOT / module / required).exists():
                found["shape", f"hotgigs/{module}/{required}"] += 1
    return +found  # drop zero counts


def _new(found: collections.Counter[tuple[str, str]],
         allowed: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    return {key: count for key, count in found.items() if count > allowed.get(key, 0)}


def _stale(found: collections.Counter[tuple[str, str]],
           allowed: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    return {key: count for key, count in allowed.items() if found.get(key, 0) < count}


def test_no_new_violations() -> None:
    """A violation not in ALLOWED (or more of them than listed) fails: follow the module
    shape in the README instead of extending the list."""
    new = _new(violations(), ALLOWED)
    assert not new, f"new architecture violations (rule, file): count -- {new}"


def test_allow_list_only_shrinks() -> None:
    """A violation fixed must leave ALLOWED too, so the list shows what is left."""
    stale = _stale(violations(), ALLOWED)
    assert not stale, f"fixed violations still in ALLOWED, lower or remove them: {stale}"


def test_allow_list_checks_detect() -> None:
    """Both checks work whatever ALLOWED holds (it is empty now): a violation beyond the list
    is new, an entry above what the tree has is stale."""
    found = collections.Counter({("sql", "hotgigs/jobs/service.py"): 2})
    assert _new(found, {}) == {("sql", "hotgigs/jobs/service.py"): 2}
    assert _new(found, {("sql", "hotgigs/jobs/service.py"): 2}) == {}
    assert _stale(found, {}) == {}
    assert _stale(found, {("sql", "hotgigs/jobs/service.py"): 3,
                          ("tables", "hotgigs/jobs/queries.py"): 1}) == {
        ("sql", "hotgigs/jobs/service.py"): 3, ("tables", "hotgigs/jobs/queries.py"): 1}


def test_no_import_cycles_between_modules() -> None:
    adjacency = import_graph.graph(import_graph.domain_edges())
    assert import_graph.cycles(adjacency) == []


def test_read_model_is_declared_once() -> None:
    """Only the read models (analytics, privacy) read other modules' tables, and only in their
    queries.py."""
    assert set(READ_MODELS) <= set(DOMAIN)
    assert set(OWNERS.values()) <= {(m,) for m in DOMAIN} | {("auth", "users")}


@pytest.mark.parametrize("source", [
    "import sqlalchemy as sa\nq = sa.select(1)\n",
    "from sqlalchemy import select\nq = select(1)\n",
    "from sqlalchemy.dialects import postgresql\nq = postgresql.insert(1)\n",
])
def test_statement_detection(source: str) -> None:
    """The rule catches the ways a statement is built here."""
    assert _statements(ast.parse(source)) == 1


@pytest.mark.parametrize(("source", "tables"), [
    ('from sqlalchemy import text\nq = text("SELECT c.name FROM companies c WHERE c.id = :id")\n',
     ["Company"]),
    ('import sqlalchemy as sa\nq = sa.text(f"select 1 from jobs join\\n  companies on true")\n',
     ["Job", "Company"]),
    ('import sqlalchemy as sa\nSQL = "UPDATE " + "notifications SET read = true"\n'
     'q = sa.text(SQL)\n', ["Notification"]),
    ('def f(c):\n    c.exec_driver_sql("DELETE FROM company_members")\n', ["CompanyMember"]),
    ('import sqlalchemy as sa\nq = sa.text("SELECT now()")\n', []),
    ('x = check.text("from companies", value)\ny = "from companies"\n', []),
])
def test_text_sql_table_detection(source: str, tables: list[str]) -> None:
    """The tables rule sees tables named in SQL written out, not only model imports."""
    assert _text_tables(ast.parse(source)) == tables


@pytest.mark.parametrize(("source", "loose"), [
    ("def get(session, *, actor, job_id): ...", 0),
    ("def get(session, job_id): ...", 1),
    ("def update(session, *, changes: Mapping[str, Any]): ...", 1),
    ("def create(session, *, job_in: dict[str, Any]): ...", 1),
    ("def _helper(session, job): ...\ndef slugify(name): ...", 0),
])
def test_signature_detection(source: str, loose: int) -> None:
    """Use cases take keyword-only, typed inputs (README, "Module shape")."""
    assert _loose_signatures(ast.parse(source)) == loose


@pytest.mark.parametrize(("source", "built"), [
    ("list_in = service.ListIn(limit=request.limit)", 1),
    ("x = JobUpdateIn(clear=())", 1),
    ("list_in = convert.list_in(request)\nLogin(request)\nservice.login(s, login_in=i)", 0),
])
def test_servicer_input_detection(source: str, built: int) -> None:
    """A servicer gets its inputs from convert.py (README, "Module shape")."""
    assert _inputs_built(ast.parse(source)) == built


def test_cycle_detection() -> None:
    assert import_graph.cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert import_graph.cycles({"a": {"b"}, "b": set()}) == []
