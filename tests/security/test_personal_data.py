"""Personal data (issue 18, item 7): the columns nothing searches are sealed at rest, the API
still answers with them, and neither the workers' JSON logs, Envoy's access log nor the
exported spans carry any of it after the flows that write and read it."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from google.protobuf.json_format import MessageToDict

from hotgigs.cache import Cache
from hotgigs.db import Database
from hotgigs.grpc_server.server import create_server
from tests import factories
from tests.support.files import make_pdf
from tests.support.otlp import Receiver, wait_for_spans
from tests.support.rest import bearer, register, unique_email, upload
from tests.support.servers import make_settings, start_envoy, suite_keyring

# The sealed columns: table -> columns (README, "Personal data").
SEALED = {"users": ("phone",),
          "job_applications": ("cover_letter", "expected_salary", "notes", "interview_notes",
                               "rejection_reason")}


def _personal() -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    return {"phone": f"+44 20 7946 {tag[:4]}", "cover": f"Dear team, my name is Zelda {tag} and",
            "salary": 987_654, "notes": f"Strong on SQL {tag}", "interview": f"Asked about pay {tag}",
            "rejection": f"Salary too high {tag}", "cv": f"Quetzalcoatl Okonkwo {tag} PostgreSQL",
            "last_name": f"Okonkwo{tag}", "email": unique_email()}


def _flows(rest: httpx.Client, values: dict[str, Any]) -> dict[str, Any]:
    """Register with a phone, upload a CV, apply, have the company annotate and reject it."""
    candidate = register(rest, "candidate", email=values["email"])
    assert rest.put("/api/users/profile", headers=bearer(candidate), json={
        "phone": values["phone"], "last_name": values["last_name"]}).status_code == 200
    created = upload(rest, candidate, make_pdf(values["cv"]), "cv.pdf", "application/pdf")
    assert created.status_code == 201, created.text
    owner, job = factories.owner_with_job(rest)
    application = factories.application(rest, candidate, job["id"], cover_letter=values["cover"],
                                         expected_salary=values["salary"],
                                         resume_document_id=created.json()["document"]["id"])
    for change in ({"status": "screening", "notes": values["notes"]},
                   {"interview_notes": values["interview"]},
                   {"status": "rejected", "rejection_reason": values["rejection"]}):
        answer = rest.put(f"/api/applications/{application['id']}", headers=bearer(owner),
                          json=change)
        assert answer.status_code == 200, answer.text
    seen = rest.get(f"/api/applications/{application['id']}", headers=bearer(owner)).json()
    assert rest.get(f"/api/documents/{created.json()['document']['id']}/download",
                    headers=bearer(owner)).status_code == 200
    profile = rest.get("/api/users/profile", headers=bearer(candidate)).json()
    return {"candidate": candidate, "application": seen["application"], "profile": profile}


def test_sealed_columns_hold_no_plain_value_and_the_api_answers_with_them(
        rest: httpx.Client, database: Database) -> None:
    values = _personal()
    answers = _flows(rest, values)
    application = answers["application"]
    assert (application["cover_letter"], application["expected_salary"], application["notes"],
            application["interview_notes"], application["rejection_reason"]) == (
        values["cover"], values["salary"], values["notes"], values["interview"],
        values["rejection"])
    assert answers["profile"]["user"]["phone"] == values["phone"]
    user_id = answers["candidate"]["user"]["id"]
    with database.engine.connect() as connection:
        phone = connection.scalar(sa.text("SELECT phone FROM users WHERE id = :id"), {"id": user_id})
        row = connection.execute(sa.text(
            "SELECT cover_letter, expected_salary, notes, interview_notes, rejection_reason "
            "FROM job_applications WHERE id = :id"), {"id": application["id"]}).one()
    for stored, plain in [(phone, values["phone"]), *zip(row, (
            values["cover"], str(values["salary"]), values["notes"], values["interview"],
            values["rejection"]), strict=True)]:
        stored = bytes(stored)
        assert stored[:1] == b"\x01" and plain.encode() not in stored
        assert stored[2:2 + stored[1]] == b"test1"  # sealed under the suite's KEK


def test_a_sealed_value_moved_to_another_column_does_not_open(rest: httpx.Client,
                                                              database: Database) -> None:
    """Each value is bound to its column: a cover letter copied into notes is refused."""
    owner, job = factories.owner_with_job(rest)
    candidate = register(rest, "candidate")
    application = factories.application(rest, candidate, job["id"], cover_letter="Moved letter")
    with database.engine.begin() as connection:
        connection.execute(sa.text("UPDATE job_applications SET notes = cover_letter "
                                   "WHERE id = :id"), {"id": application["id"]})
    refused = rest.get(f"/api/applications/{application['id']}", headers=bearer(owner))
    assert refused.status_code == 500 and "Moved letter" not in refused.text
    with database.engine.begin() as connection:
        connection.execute(sa.text("UPDATE job_applications SET notes = NULL WHERE id = :id"),
                           {"id": application["id"]})


def test_logs_and_traces_carry_no_personal_data(
        receiver: tuple[Receiver, int], migrated_database_url: str, cache: Cache,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    collector, port = receiver
    settings = make_settings(tmp_path, otel_endpoint=f"http://127.0.0.1:{port}",
                             auth_rate_limit_per_minute=100_000, auth_rate_limit_per_hour=100_000,
                             rate_limit_per_minute=100_000, rate_limit_per_hour=100_000)
    # an engine of its own: the SQL instrumentation stays with the engine it was given
    database = Database(migrated_database_url, keyring=suite_keyring())
    server = create_server(settings, database, cache)
    server.start()
    values = _personal()
    try:
        with start_envoy(settings, server.port, tmp_path / "envoy") as envoy, \
                httpx.Client(base_url=envoy.base_url, timeout=30) as rest:
            capsys.readouterr()
            answers = _flows(rest, values)
            trace_id = rest.get("/api/users/profile",
                                headers=bearer(answers["candidate"])).headers["x-trace-id"]
            assert server.tracer_provider is not None
            server.tracer_provider.force_flush()
            assert wait_for_spans(collector, trace_id, "hotgigs-envoy"), "Envoy's spans arrived"
            access_log = envoy.access_log.read_text()
    finally:
        server.stop(0)
        database.dispose()
    captured = capsys.readouterr()
    logs = captured.out + captured.err
    assert "rpc_finished" in logs and "document_uploaded" in logs, "the flows were logged"
    with collector.lock:
        spans = json.dumps([MessageToDict(span) for _, span in collector.spans])
    assert "UpdateApplication" in spans and "DownloadDocument" in spans, "the flows were traced"
    personal = [values["phone"], values["cover"], str(values["salary"]), values["notes"],
                values["interview"], values["rejection"], values["cv"], values["last_name"],
                values["email"], "Quetzalcoatl"]
    for where, text in (("logs", logs), ("spans", spans), ("Envoy access log", access_log)):
        leaked = [value for value in personal if value in text]
        assert leaked == [], f"{where} carry {leaked}"
        assert not re.search(r"7946 \w{4}", text), where
