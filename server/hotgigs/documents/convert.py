"""Documents as protobuf messages and requests as its inputs: pure functions."""

from __future__ import annotations

from urllib.parse import quote

from hotgigs.core.protos import optional, timestamp
from hotgigs.documents import files
from hotgigs.documents.service import ListIn, UploadIn
from hotgigs.models import DOCUMENT_TYPES, Document
from hotgigs.v1 import common_pb2, documents_pb2

TYPE_LABELS = {"resume": "Resume / CV", "cover_letter": "Cover letter", "portfolio": "Portfolio",
               "certificate": "Certificate", "reference": "Reference letter", "other": "Other"}


def document_to_proto(document: Document) -> documents_pb2.Document:
    return documents_pb2.Document(
        id=document.id, user_id=document.owner_id, document_type=document.document_type,
        title=document.title, description=document.description or "", filename=document.filename,
        content_type=document.content_type, file_size=document.size_bytes,
        sha256=document.sha256, download_url=f"/api/documents/{document.id}/download",
        created_at=timestamp(document.created_at), updated_at=timestamp(document.updated_at))


def disposition(filename: str) -> str:
    """An attachment header safe for any file name (RFC 6266 with an RFC 5987 UTF-8 form)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def document_types(max_bytes: int, allowed: tuple[str, ...]
                   ) -> documents_pb2.ListDocumentTypesResponse:
    return documents_pb2.ListDocumentTypesResponse(
        document_types=[common_pb2.VocabularyEntry(value=kind, label=TYPE_LABELS[kind])
                        for kind in DOCUMENT_TYPES],
        max_file_size_bytes=max_bytes, allowed_content_types=[files.FORMATS[k] for k in allowed])


def upload_in(request: documents_pb2.UploadDocumentRequest) -> UploadIn:
    """A JSON/gRPC upload (content in the message)."""
    return UploadIn(document_type=request.document_type, title=request.title,
                    description=request.description, filename=request.filename,
                    content_type=request.content_type, content=request.content)


def raw_upload_in(request: documents_pb2.UploadDocumentRawRequest) -> UploadIn:
    """A raw-body upload: the content type and bytes are the HTTP body's."""
    return UploadIn(document_type=request.document_type, title=request.title,
                    description=request.description, filename=request.filename,
                    content_type=request.file.content_type, content=request.file.data)


def stream_upload_in(meta: documents_pb2.UploadDocumentRequest, content: bytes) -> UploadIn:
    """A streamed upload: its first message's metadata and the chunks collected."""
    return UploadIn(document_type=meta.document_type, title=meta.title,
                    description=meta.description, filename=meta.filename,
                    content_type=meta.content_type, content=content)


def list_in(request: documents_pb2.ListDocumentsRequest) -> ListIn:
    return ListIn(document_type=request.document_type, limit=optional(request, "limit"),
                  offset=request.offset)
