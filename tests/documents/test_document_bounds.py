"""Hostile documents are read in a bounded child process (issue 12, item 2): an XML bomb in a
small DOCX is refused as too complex and the worker's memory stays where it was."""

from __future__ import annotations

import resource

import grpc
import httpx
import pytest

from hotgigs.documents import extract
from hotgigs.documents.extract import Refused
from hotgigs.v1 import documents_pb2, documents_pb2_grpc
from tests.support.files import DOCX, W, docx_with, element_bomb, make_docx, make_pdf
from tests.support.rest import bearer, register, upload


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_the_element_bomb_is_refused_by_the_budget() -> None:
    with pytest.raises(Refused) as caught:
        extract.docx_text(element_bomb(3))  # 786k elements: over 500k
    assert caught.value.kind == "too_complex"


def test_document_xml_over_16_mb_is_refused_unparsed() -> None:
    with pytest.raises(Refused, match="larger than 16 MB"):
        extract.docx_text(docx_with("<w:document " + W + ">" + " " * (17 * 1024 * 1024)
                                    + "</w:document>"))


def test_a_dtd_is_refused() -> None:
    xml = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]>'
           "<w:document " + W + "><w:p><w:r><w:t>&a;</w:t></w:r></w:p></w:document>")
    with pytest.raises(Refused, match="DTD"):
        extract.docx_text(docx_with(xml))


def test_text_is_still_extracted() -> None:
    assert extract.docx_text(make_docx("Kubernetes and Go")) == "Kubernetes and Go\n"
    assert "Rust" in extract.pdf_text(make_pdf("Rust engineer"))


def test_the_bomb_is_400_over_rest_and_the_worker_stays_small(rest: httpx.Client) -> None:
    owner = register(rest, "candidate")
    bomb = element_bomb()
    assert len(bomb) < 100 * 1024
    before = peak_rss_mb()
    response = upload(rest, owner, bomb, "cv.docx", DOCX)
    assert response.status_code == 400, response.text
    assert "DOCUMENT_TOO_COMPLEX" in response.text
    # The worker runs in this test process: parsing 6M elements in it added about 650 MB.
    assert peak_rss_mb() - before < 100


def test_the_bomb_is_invalid_argument_over_grpc(rest: httpx.Client,
                                                grpc_channel: grpc.Channel) -> None:
    owner = register(rest, "candidate")
    stub = documents_pb2_grpc.DocumentServiceStub(grpc_channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.UploadDocument(documents_pb2.UploadDocumentRequest(
            filename="cv.docx", content_type=DOCX, content=element_bomb()),
            metadata=(("authorization", f"Bearer {owner['access_token']}"),), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "too complex" in (caught.value.details() or "")


def test_good_documents_still_upload(rest: httpx.Client) -> None:
    owner = register(rest, "candidate")
    response = upload(rest, owner, make_docx("Senior Python developer"), "cv.docx", DOCX)
    assert response.status_code == 201, response.text
    assert bearer(owner)
