"""Issue 18 item 6: a person's data on request, end to end through Envoy.

A candidate with a profile, a document, an application and notifications exports everything as
one zip (self-service and by an admin), then is erased (self-service with the password, or by
an admin): gone from the database, the candidate search and every session, the audit log
keeping the event but not the address. The export streams: a large document arrives in many
bounded messages.
"""

from __future__ import annotations

import base64
import io
import json
import os
import uuid
import zipfile
from typing import Any

import grpc
import httpx
import pytest
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.models import AuditEntry, Document, JobApplication, Notification, User
from hotgigs.v1 import privacy_pb2, privacy_pb2_grpc
from tests import factories
from tests.support.files import make_pdf
from tests.support.rest import STRONG_PASSWORD, bearer, register, upload
from tests.support.rest import admin as make_admin

WRONG_PASSWORD = "Wrong-passw0rd!"
CV = b"Ada Lovelace\nAnalytical engines, 12 years.\n" + uuid.uuid4().hex.encode()


@pytest.fixture(scope="module")
def admin(envoy: Any, database: Database) -> dict[str, Any]:
    with httpx.Client(base_url=envoy.base_url, timeout=10) as client:
        return make_admin(client, database)


def person(rest: httpx.Client) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A candidate with a profile, a CV, an application (moved on by the company, which
    notifies them); the company owner; the document."""
    owner, job = factories.owner_with_job(rest)
    candidate = register(rest, "candidate")
    profile = rest.put("/api/candidates/profile", headers=bearer(candidate), json={
        "headline": "Engine programmer", "skills": ["python", "babbage"], "is_public": True})
    assert profile.status_code == 200, profile.text
    uploaded = upload(rest, candidate, CV, "cv.txt", "text/plain")
    assert uploaded.status_code == 201, uploaded.text
    application = factories.application(rest, candidate, job["id"])
    moved = rest.put(f"/api/applications/{application['id']}", headers=bearer(owner),
                     json={"status": "screening"})
    assert moved.status_code == 200, moved.text
    return candidate, owner, uploaded.json()["document"]


def archive(response: httpx.Response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(response.content))


class TestExport:
    def test_the_archive_holds_everything_about_the_caller(self, rest: httpx.Client,
                                                          admin: dict[str, Any]) -> None:
        candidate, _, document = person(rest)
        user_id = candidate["user"]["id"]
        zipped = archive(rest.get("/api/privacy/export", headers=bearer(candidate)))
        assert zipped.testzip() is None
        names = set(zipped.namelist())
        manifest = json.loads(zipped.read("export.json"))
        assert set(manifest["files"]) == names - {"export.json"}
        data = {name[:-5]: json.loads(zipped.read(name)) for name in names if name.endswith(".json")}
        [account] = data["account"]
        assert account["email"] == candidate["user"]["email"] and "password_hash" not in account
        assert data["candidate_profile"][0]["skills"] == ["python", "babbage"]
        assert [a["candidate_id"] for a in data["applications"]] == [user_id]
        assert {h["to_status"] for h in data["application_status_history"]} >= {"screening"}
        assert data["notifications"], "the status change notified them"
        assert data["sessions"] and data["documents"][0]["sha256"]
        assert zipped.read(f"documents/{document['id']}-cv.txt") == CV
        assert STRONG_PASSWORD not in zipped.read("account.json").decode()
        exports = rest.get("/api/admin/audit-log", headers=bearer(admin), params={
            "action": "privacy.export", "target": f"user:{user_id}"}).json()["entries"]
        assert exports[0]["details"] == {"by": "self", "documents": 1}

    def test_admins_export_anyone_others_nobody(self, rest: httpx.Client,
                                                admin: dict[str, Any]) -> None:
        candidate, owner, _ = person(rest)
        user_id = candidate["user"]["id"]
        zipped = archive(rest.get(f"/api/admin/users/{user_id}/export", headers=bearer(admin)))
        assert json.loads(zipped.read("account.json"))[0]["id"] == user_id
        assert rest.get(f"/api/admin/users/{user_id}/export",
                        headers=bearer(owner)).status_code == 403
        assert rest.get(f"/api/admin/users/{user_id}/export").status_code == 401
        assert rest.get("/api/admin/users/999999999/export",
                        headers=bearer(admin)).status_code == 404

    def test_a_large_document_streams_in_bounded_messages(self, rest: httpx.Client,
                                                          grpc_channel: grpc.Channel) -> None:
        candidate = register(rest, "candidate")
        # 6 MiB of random letters: text the extractor takes, that deflate shrinks by a quarter
        big = base64.b64encode(os.urandom(4_718_592)) + b"\n"
        assert upload(rest, candidate, big, "big.txt", "text/plain").status_code == 201
        stub = privacy_pb2_grpc.PrivacyServiceStub(grpc_channel)
        sizes, parts = [], []
        for message in stub.ExportMyData(privacy_pb2.ExportMyDataRequest(), timeout=60,
                                         metadata=(("authorization",
                                                    f"Bearer {candidate['access_token']}"),)):
            assert message.content_type == "application/zip"
            sizes.append(len(message.data))
            parts.append(message.data)
        zipped = zipfile.ZipFile(io.BytesIO(b"".join(parts)))
        assert zipped.testzip() is None
        [name] = [name for name in zipped.namelist() if name.startswith("documents/")]
        assert zipped.read(name) == big
        # many messages, none much above the 256 KiB slice: the archive was never whole in memory
        assert len(sizes) >= 10 and max(sizes) <= 1024 * 1024, sizes


class TestErasure:
    def test_self_service_erasure_removes_the_person_everywhere(
            self, rest: httpx.Client, admin: dict[str, Any], database: Database) -> None:
        candidate, owner, document = person(rest)
        user_id, email = candidate["user"]["id"], candidate["user"]["email"]
        assert login_failure(rest, email) == 401  # leaves an email:<address> entry too
        assert rest.get(f"/api/candidates/{user_id}", headers=bearer(owner)).status_code == 200
        wrong = rest.post("/api/privacy/erase", headers=bearer(candidate),
                          json={"password": "Not-my-passw0rd!"})
        assert wrong.status_code == 400 and "password" in wrong.text
        erased = rest.post("/api/privacy/erase", headers=bearer(candidate),
                           json={"password": STRONG_PASSWORD})
        assert erased.status_code == 200, erased.text
        removed = erased.json()["erasure"]["removed"]
        assert removed["documents"] == 1 and removed["applications"] == 1
        assert removed["account"] == 1

        # sessions and tokens: refused at once on this worker, sign-in impossible
        assert rest.get("/api/auth/me", headers=bearer(candidate)).status_code == 401
        assert rest.post("/api/auth/refresh", json={
            "refresh_token": candidate["refresh_token"]}).status_code == 401
        # search and profile: gone
        assert rest.get(f"/api/candidates/{user_id}", headers=bearer(owner)).status_code == 404
        found = rest.get("/api/candidates", headers=bearer(owner), params={"skills": "babbage"})
        assert user_id not in [c["id"] for c in found.json().get("candidates", [])]
        # the database: no row about them, the address nowhere in the audit log
        with database.session_scope() as session:
            assert session.get(User, user_id) is None
            assert session.get(Document, document["id"]) is None
            assert not session.scalars(sa.select(JobApplication.id).where(
                JobApplication.candidate_id == user_id)).all()
            assert not session.scalars(sa.select(Notification.id).where(
                Notification.user_id == user_id)).all()
            log = session.execute(sa.select(AuditEntry.target, AuditEntry.details)).all()
        text = "\n".join(f"{target} {json.dumps(details)}" for target, details in log)
        assert email not in text
        entries = rest.get("/api/admin/audit-log", headers=bearer(admin), params={
            "target": f"user:{user_id}", "action": "privacy.erase"}).json()["entries"]
        assert entries[0]["details"]["by"] == "self" and "actor_user_id" not in entries[0]
        # (a sign-in attempt made later is an unknown address's, logged as such)
        assert login_failure(rest, email, STRONG_PASSWORD) == 401

    def test_admins_erase_anyone_others_nobody(self, rest: httpx.Client,
                                               admin: dict[str, Any]) -> None:
        candidate, owner, _ = person(rest)
        user_id = candidate["user"]["id"]
        assert rest.post(f"/api/admin/users/{user_id}/erase", headers=bearer(owner),
                         json={}).status_code == 403
        assert rest.post(f"/api/admin/users/{user_id}/erase", headers=bearer(candidate),
                         json={}).status_code == 403
        erased = rest.post(f"/api/admin/users/{user_id}/erase", headers=bearer(admin), json={})
        assert erased.status_code == 200, erased.text
        assert rest.get("/api/auth/me", headers=bearer(candidate)).status_code == 401
        assert rest.post(f"/api/admin/users/{user_id}/erase", headers=bearer(admin),
                         json={}).status_code == 404
        entries = rest.get("/api/admin/audit-log", headers=bearer(admin), params={
            "target": f"user:{user_id}", "action": "privacy.erase"}).json()["entries"]
        assert entries[0]["actor_user_id"] == admin["user"]["id"]
        assert entries[0]["details"]["by"] == "admin"
        assert rest.get("/api/companies", headers=bearer(owner)).status_code == 200


def login_failure(rest: httpx.Client, email: str, password: str = WRONG_PASSWORD) -> int:
    return rest.post("/api/auth/login", json={"email": email, "password": password}).status_code


def sealed_person(rest: httpx.Client) -> dict[str, Any]:
    """A candidate with a phone, an encrypted PDF CV and an application whose sealed columns
    (cover letter, expected salary, the company's notes) hold values; the values and ids."""
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "phone": f"+44 20 7946 {tag[:4]}", "cover": f"Dear team, I am Zelda {tag}",
        "salary": 876_543, "notes": f"Strong on SQL {tag}", "cv_text": f"Quetzalcoatl {tag}"}
    candidate = register(rest, "candidate")
    assert rest.put("/api/users/profile", headers=bearer(candidate),
                    json={"phone": values["phone"]}).status_code == 200
    values["cv"] = make_pdf(f"{values['cv_text']} PostgreSQL")
    created = upload(rest, candidate, values["cv"], "cv.pdf", "application/pdf")
    assert created.status_code == 201, created.text
    owner, job = factories.owner_with_job(rest)
    application = factories.application(
        rest, candidate, job["id"], cover_letter=values["cover"],
        expected_salary=values["salary"], resume_document_id=created.json()["document"]["id"])
    assert rest.put(f"/api/applications/{application['id']}", headers=bearer(owner),
                    json={"notes": values["notes"]}).status_code == 200
    return {**values, "candidate": candidate, "document_id": created.json()["document"]["id"],
            "application_id": application["id"]}


def stored(database: Database, found: dict[str, Any]) -> dict[str, bytes]:
    """The bytes PostgreSQL holds for the person's sealed and encrypted values."""
    with database.engine.connect() as connection:
        phone = connection.scalar(sa.text("SELECT phone FROM users WHERE id = :id"),
                                  {"id": found["candidate"]["user"]["id"]})
        document = connection.execute(sa.text(
            "SELECT content, extracted_text, wrapped_key, content_nonce FROM documents "
            "WHERE id = :id"), {"id": found["document_id"]}).one()
        application = connection.execute(sa.text(
            "SELECT cover_letter, expected_salary, notes FROM job_applications WHERE id = :id"),
            {"id": found["application_id"]}).one()
    return {"phone": bytes(phone), "content": bytes(document.content),
            "text": bytes(document.extracted_text), "wrapped_key": bytes(document.wrapped_key),
            "nonce": bytes(document.content_nonce), "cover": bytes(application.cover_letter),
            "salary": bytes(application.expected_salary), "notes": bytes(application.notes)}


class TestEncryptedData:
    """Documents are encrypted and personal columns sealed at rest (items 4 and 7): the export
    gives the person their plain data, never a ciphertext; the erasure takes the ciphertexts."""

    def test_the_export_decrypts_documents_and_sealed_columns(
            self, rest: httpx.Client, database: Database) -> None:
        found = sealed_person(rest)
        raw = stored(database, found)
        # at rest: nothing plain (else this test would prove nothing)
        assert raw["content"] != found["cv"] and found["cv_text"].encode() not in raw["text"]
        assert found["phone"].encode() not in raw["phone"]
        assert found["cover"].encode() not in raw["cover"]

        zipped = archive(rest.get("/api/privacy/export", headers=bearer(found["candidate"])))
        assert zipped.read(f"documents/{found['document_id']}-cv.pdf") == found["cv"]
        [account] = json.loads(zipped.read("account.json"))
        assert account["phone"] == found["phone"]
        [application] = json.loads(zipped.read("applications.json"))
        assert (application["cover_letter"], application["expected_salary"],
                application["notes"]) == (found["cover"], found["salary"], found["notes"])
        [document] = json.loads(zipped.read("documents.json"))
        assert found["cv_text"] in document["extracted_text"]
        assert not {"content", "wrapped_key", "content_nonce", "kek_id"} & set(document)

        whole = b"\n".join(zipped.read(name) for name in zipped.namelist())
        for name, blob in raw.items():
            # any 16 bytes of a ciphertext, as bytes, hex, base64 or Python's bytes repr
            piece = blob[-16:]
            for form in (piece, piece.hex().encode(), base64.b64encode(piece)[:20],
                         repr(piece)[2:-1].encode()):
                assert form not in whole, f"{name} ciphertext in the export"

    def test_the_erasure_removes_the_encrypted_rows(
            self, rest: httpx.Client, database: Database) -> None:
        found = sealed_person(rest)
        raw = stored(database, found)
        erased = rest.post("/api/privacy/erase", headers=bearer(found["candidate"]),
                           json={"password": STRONG_PASSWORD})
        assert erased.status_code == 200, erased.text
        with database.engine.connect() as connection:
            left = connection.execute(sa.text(
                "SELECT (SELECT count(*) FROM users WHERE phone = :phone),"
                " (SELECT count(*) FROM documents WHERE wrapped_key = :key OR content = :content"
                "   OR extracted_text = :text),"
                " (SELECT count(*) FROM job_applications WHERE cover_letter = :cover"
                "   OR expected_salary = :salary OR notes = :notes)"),
                {"phone": raw["phone"], "key": raw["wrapped_key"], "content": raw["content"],
                 "text": raw["text"], "cover": raw["cover"], "salary": raw["salary"],
                 "notes": raw["notes"]}).one()
        assert tuple(left) == (0, 0, 0)
        # and the key-encryption keys stay: others' documents still open
        other = sealed_person(rest)
        assert rest.get(f"/api/documents/{other['document_id']}/download",
                        headers=bearer(other["candidate"])).status_code == 200
