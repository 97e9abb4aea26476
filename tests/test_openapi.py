"""The OpenAPI document generated from the protos: valid, complete, and served by Envoy."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from hotgigs import manifest, runtime
from http_bridge import openapi
from tests.support.api import api_rpcs, normalise
from tests.support.rest import bearer, register
from tests.support.servers import RunningEnvoy

SERVER_ROOT = Path(__file__).resolve().parent.parent / "server" / "hotgigs"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.generate(runtime.descriptor_path())


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(verb.upper(), path): operation for path, verbs in document["paths"].items()
            for verb, operation in verbs.items()}


def test_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_http_rule_is_an_operation(document: dict[str, Any]) -> None:
    documented = {(verb, normalise(path)): operation["x-grpc-method"]
                  for (verb, path), operation in operations(document).items()}
    expected = {(verb, normalise(path)): rpc for rpc, bindings in api_rpcs().items()
                for verb, path in bindings}
    assert documented == expected


def test_make_protos_wrote_the_same_document(document: dict[str, Any]) -> None:
    written = runtime.descriptor_path().with_name(openapi.OPENAPI_NAME)
    assert json.loads(written.read_text()) == document


def test_path_and_query_parameters(document: dict[str, Any]) -> None:
    search = operations(document)[("GET", "/api/jobs")]
    parameters = {p["name"]: p for p in search["parameters"]}
    assert parameters["skills"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert parameters["skills"]["explode"] is True
    assert parameters["limit"]["schema"]["type"] == "integer"
    assert parameters["remote_only"]["schema"] == {"type": "boolean"}
    job = operations(document)[("PUT", "/api/jobs/{id}")]
    assert [(p["name"], p["in"], p["required"]) for p in job["parameters"]] == [("id", "path", True)]
    body = job["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert "id" not in document["components"]["schemas"][body]["properties"]
    upload = operations(document)[("POST", "/api/documents/upload")]
    assert {"text/plain", "application/pdf"} <= set(upload["requestBody"]["content"])
    assert {p["name"] for p in upload["parameters"]} == {"filename", "document_type", "title",
                                                         "description"}


def test_proto3_json_mapping(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    job = schemas["Job"]
    assert job["properties"]["created_at"]["format"] == "date-time"
    assert "salary_min" not in job["required"]  # optional: absent when unset
    assert "title" in job["required"] and "skills_required" in job["required"]
    assert "company" not in job["required"]  # message fields may be absent
    assert "CreateJobRequest" in schemas and "required" not in schemas["CreateJobRequest"]
    download = operations(document)[("GET", "/api/documents/{id}/download")]
    assert download["responses"]["200"]["content"] == {
        "*/*": {"schema": {"type": "string", "format": "binary"}}}


def test_security_follows_the_policy_table(document: dict[str, Any]) -> None:
    ops = operations(document)
    assert ops[("GET", "/api/jobs")]["security"] == [{}, {"bearerAuth": []}]
    assert ops[("GET", "/api/auth/me")]["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["bearerFormat"] == "JWT"
    assert "401" in ops[("GET", "/api/auth/me")]["responses"]
    assert "401" in ops[("GET", "/api/jobs")]["responses"]  # a token sent is still verified
    assert "403" not in ops[("GET", "/api/jobs")]["responses"]
    assert "Retry-After" in document["components"]["responses"]["Error429"]["headers"]


def _sets_status(node: ast.AST, status: int, helpers: set[str]) -> bool:
    """Whether `node` calls `set_http_status(status)`, or a method of its class in `helpers`."""
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
            if call.func.attr == "set_http_status" and ast.literal_eval(call.args[0]) == status:
                return True
            if isinstance(call.func.value, ast.Name) and call.func.value.id == "self" \
                    and call.func.attr in helpers:
                return True
    return False


def _methods_setting(status: int) -> set[str]:
    """`/hotgigs.v1.Service/Method` of every RPC whose success answers `status`: declared in its
    module's `policy.py` (`hotgigs.manifest.REST_STATUSES`), or set by its servicer (health's 503),
    directly or through a helper method; an RPC `served_by` another module counts when that
    module's servicer method of the same name sets it (the per-module health RPCs)."""
    found = {method for method, declared in manifest.REST_STATUSES.items() if declared == status}
    for path in SERVER_ROOT.glob("*/servicer.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef) or not node.bases:
                continue
            base = node.bases[0]  # hotgigs.v1's generated <Service>Servicer
            service = (base.attr if isinstance(base, ast.Attribute) else ast.unparse(base)
                       ).removesuffix("Servicer")
            methods = [method for method in node.body if isinstance(method, ast.FunctionDef)]
            helpers = {method.name for method in methods if method.name.startswith("_")
                       and _sets_status(method, status, set())}
            setting = {method.name for method in methods if _sets_status(method, status, helpers)}
            found |= {f"/hotgigs.v1.{service}/{name}" for name in setting}
            found |= {module.method(name) for module in manifest.MODULES
                      for name, rpc in module.rpcs.items()
                      if rpc.served_by == path.parent.name and name in setting}
    return found & set(manifest.RPCS)


@pytest.mark.parametrize("status", [201, 202, 503])
def test_documented_statuses_match_the_servicers(document: dict[str, Any], status: int) -> None:
    """The comment marker "(REST: 201 Created)" the generator reads agrees with the code."""
    documented = {operation["x-grpc-method"] for operation in operations(document).values()
                  if str(status) in operation["responses"]
                  and "$ref" not in operation["responses"][str(status)]}
    assert documented == _methods_setting(status)


def test_error_schema_matches_envoy_errors(document: dict[str, Any], rest: httpx.Client) -> None:
    from jsonschema import Draft4Validator

    schema = document["components"]["schemas"]["Error"]
    account = register(rest, "candidate")
    answers = [rest.get("/api/nonexistent"), rest.get("/api/jobs?limit=abc"),
               rest.get("/api/auth/me"), rest.get("/api/jobs/999999999"),
               rest.post("/api/jobs", headers=bearer(account), json={"title": "x"}),
               rest.post("/api/auth/register", json={"email": "x"})]
    for answer in answers:
        assert answer.status_code >= 400
        Draft4Validator(schema).validate(answer.json())
    assert any(answer.json().get("details") for answer in answers)


def test_envoy_serves_the_document(envoy: RunningEnvoy, rest: httpx.Client) -> None:
    answer = rest.get("/api/openapi.json")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == json.loads(runtime.descriptor_path().with_name(
        openapi.OPENAPI_NAME).read_text())
    assert rest.post("/api/openapi.json", json={}).status_code == 404


def test_cli_help_and_stdout() -> None:
    shown = subprocess.run([sys.executable, "-m", "http_bridge.openapi", "--help"],
                           capture_output=True, text=True, check=True)
    assert "--descriptor" in shown.stdout and "OpenAPI" in shown.stdout
    printed = subprocess.run([sys.executable, "-m", "http_bridge.openapi", "--output", "-"],
                             capture_output=True, text=True, check=True)
    assert re.search(r'"openapi": "3\.', printed.stdout)
    assert json.loads(printed.stdout)["paths"]
