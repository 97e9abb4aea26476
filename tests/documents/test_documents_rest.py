"""Documents over REST through Envoy: real files in, the same bytes out, bad files refused
and nothing left behind, readers limited to the owner and the companies applied to."""

from __future__ import annotations

import hashlib
from typing import Any

import grpc
import httpx
import pytest
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.documents import queries as documents_queries
from hotgigs.documents import service as documents_service
from hotgigs.models import Document
from hotgigs.v1 import documents_pb2, documents_pb2_grpc
from tests import factories
from tests.support.files import make_docx, make_pdf
from tests.support.rest import apply, bearer, register, upload


def count_documents(database: Database) -> int:
    with database.session_scope() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Document)) or 0)


def stored_text(database: Database, document_id: int) -> str | None:
    """The text extracted for matching, as the documents service decrypts it."""
    with database.session_scope() as session:
        document = documents_queries.document(session, document_id, with_text=True)
        assert document is not None
        return documents_service.plain_text(database.keyring, document)


def test_pdf_round_trip_with_text_extracted(rest: httpx.Client, database: Database) -> None:
    owner = register(rest, "candidate")
    pdf = make_pdf("Python PostgreSQL Kubernetes")
    created = upload(rest, owner, pdf, "cv.pdf", "application/pdf")
    assert created.status_code == 201, created.text
    document = created.json()["document"]
    assert document["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert document["file_size"] == len(pdf)
    download = rest.get(document["download_url"], headers=bearer(owner))
    assert download.status_code == 200
    assert download.content == pdf
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith('attachment; filename="cv.pdf"')
    text = stored_text(database, document["id"])
    assert text is not None and "PostgreSQL" in text


@pytest.mark.parametrize(("filename", "content_type", "content", "expected"), [
    ("cv.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     make_docx("Rust and Go engineer"), "Rust and Go engineer"),
    ("cv.txt", "text/plain", "Plain CV ✓ with UTF-8".encode(), "Plain CV ✓ with UTF-8"),
])
def test_docx_and_txt_text_is_extracted(rest: httpx.Client, database: Database, filename: str,
                                        content_type: str, content: bytes, expected: str) -> None:
    owner = register(rest, "candidate")
    created = upload(rest, owner, content, filename, content_type)
    assert created.status_code == 201, created.text
    assert stored_text(database, created.json()["document"]["id"]) == expected


@pytest.mark.parametrize(("filename", "content_type", "content"), [
    ("resume.pdf", "application/pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 200),   # renamed binary
    ("resume.pdf", "application/pdf", make_pdf("cut short")[:-40]),             # truncated
    ("resume.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     b"PK\x03\x04broken"),
    ("notes.txt", "text/plain", b"\xff\xfe\x00bad"),
    ("run.sh", "application/x-sh", b"#!/bin/sh\nrm -rf /\n"),
    ("cv.pdf", "text/plain", b"plain text pretending"),                        # name vs type
])
def test_bad_files_are_refused_and_leave_nothing(rest: httpx.Client, database: Database,
                                                 filename: str, content_type: str,
                                                 content: bytes) -> None:
    owner = register(rest, "candidate")
    before = count_documents(database)
    response = upload(rest, owner, content, filename, content_type)
    assert response.status_code == 400, response.text
    assert count_documents(database) == before


def test_oversized_uploads_are_refused(rest: httpx.Client, database: Database,
                                       grpc_channel: grpc.Channel) -> None:
    owner = register(rest, "candidate")
    before = count_documents(database)
    big = b"a" * (17 * 1024 * 1024)
    assert upload(rest, owner, big, "big.txt", "text/plain").status_code == 413  # at Envoy
    stub = documents_pb2_grpc.DocumentServiceStub(grpc_channel)
    with pytest.raises(grpc.RpcError) as caught:  # native gRPC skips Envoy: the server checks
        stub.UploadDocument(documents_pb2.UploadDocumentRequest(
            filename="big.txt", content_type="text/plain", content=b"a" * (16 * 1024 * 1024 + 1)),
            metadata=(("authorization", f"Bearer {owner['access_token']}"),), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "16 MB" in (caught.value.details() or "") or "large" in (caught.value.details() or "")
    assert count_documents(database) == before


def test_readers_are_the_owner_and_companies_applied_to(rest: httpx.Client) -> None:
    owner = register(rest, "candidate")
    document = upload(rest, owner, make_pdf("cv"), "cv.pdf", "application/pdf").json()["document"]
    hiring = register(rest, "company")
    company = rest.post("/api/companies", headers=bearer(hiring), json={"name": "Readers Inc"})
    hiring["company_id"] = company.json()["company"]["id"]
    job = factories.job(rest, hiring)
    stranger_company, other_candidate = register(rest, "company"), register(rest, "candidate")
    path = f"/api/documents/{document['id']}"
    assert rest.get(path, headers=bearer(hiring)).status_code == 403
    apply(rest, owner, job["id"], resume_document_id=document["id"])
    assert rest.get(path, headers=bearer(hiring)).status_code == 200
    assert rest.get(f"{path}/download", headers=bearer(hiring)).status_code == 200
    assert rest.get(path, headers=bearer(stranger_company)).status_code == 403
    assert rest.get(path, headers=bearer(other_candidate)).status_code == 403
    assert rest.delete(path, headers=bearer(other_candidate)).status_code == 404
    assert rest.delete(path, headers=bearer(owner)).status_code == 200
    assert rest.get(path, headers=bearer(owner)).status_code == 404


def test_list_and_types(rest: httpx.Client) -> None:
    owner = register(rest, "candidate")
    for number in range(3):
        upload(rest, owner, f"cv {number}".encode(), f"cv{number}.txt", "text/plain",
               document_type="portfolio" if number else "resume")
    page = rest.get("/api/documents", headers=bearer(owner), params={"limit": 2}).json()
    assert page["pagination"] == {"limit": 2, "offset": 0, "total": 3}
    only = rest.get("/api/documents", headers=bearer(owner),
                    params={"document_type": "portfolio"}).json()
    assert only["pagination"]["total"] == 2
    types = rest.get("/api/documents/types").json()
    assert [t["value"] for t in types["document_types"]][:2] == ["resume", "cover_letter"]
    assert "application/pdf" in types["allowed_content_types"]
    assert types["max_file_size_bytes"] == 16 * 1024 * 1024


def test_raw_body_upload_with_its_content_type(rest: httpx.Client, database: Database) -> None:
    owner = register(rest, "candidate")
    pdf = make_pdf("Raw upload")
    response = rest.post("/api/documents/upload", content=pdf, headers={
        **bearer(owner), "content-type": "application/pdf"},
        params={"filename": "raw.pdf", "document_type": "resume", "title": "Raw CV"})
    assert response.status_code == 201, response.text
    document = response.json()["document"]
    assert document["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert rest.get(document["download_url"], headers=bearer(owner)).content == pdf
    before = count_documents(database)
    elf = rest.post("/api/documents/upload", content=b"\x7fELF" + b"\x00" * 64, headers={
        **bearer(owner), "content-type": "application/pdf"}, params={"filename": "x.pdf"})
    assert elf.status_code == 400
    assert count_documents(database) == before


def test_chunked_upload_over_grpc(grpc_channel: grpc.Channel, rest: httpx.Client,
                                  database: Database) -> None:
    owner = register(rest, "candidate")
    metadata = (("authorization", f"Bearer {owner['access_token']}"),)
    stub = documents_pb2_grpc.DocumentServiceStub(grpc_channel)
    text = ("line of a long plain-text CV\n" * 40_000).encode()  # about 1.2 MB

    def parts(content: bytes, chunk: int = 64 * 1024) -> Any:
        yield documents_pb2.UploadDocumentStreamRequest(metadata=documents_pb2.UploadDocumentRequest(
            filename="long.txt", content_type="text/plain", title="Long CV"))
        for start in range(0, len(content), chunk):
            yield documents_pb2.UploadDocumentStreamRequest(chunk=content[start:start + chunk])

    response = stub.UploadDocumentStream(parts(text), metadata=metadata, timeout=30)
    assert response.document.file_size == len(text)
    assert response.document.sha256 == hashlib.sha256(text).hexdigest()
    before = count_documents(database)
    with pytest.raises(grpc.RpcError) as caught:
        stub.UploadDocumentStream(parts(b"a" * (16 * 1024 * 1024 + 1), 1024 * 1024),
                                  metadata=metadata, timeout=60)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as no_metadata:
        stub.UploadDocumentStream(iter([documents_pb2.UploadDocumentStreamRequest(chunk=b"x")]),
                                  metadata=metadata, timeout=10)
    assert no_metadata.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert count_documents(database) == before
