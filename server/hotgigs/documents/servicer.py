"""`hotgigs.v1.DocumentService`: protobuf in, documents service, protobuf out."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.api import httpbody_pb2

from hotgigs import context as request_context
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.core.protos import timestamp
from hotgigs.db import Database
from hotgigs.documents import files, service
from hotgigs.errors import FieldViolation, InvalidArgument
from hotgigs.models import DOCUMENT_TYPES, Document
from hotgigs.settings import Settings
from hotgigs.v1 import common_pb2, documents_pb2, documents_pb2_grpc

TYPE_LABELS = {"resume": "Resume / CV", "cover_letter": "Cover letter", "portfolio": "Portfolio",
               "certificate": "Certificate", "reference": "Reference letter", "other": "Other"}



def document_to_proto(document: Document) -> documents_pb2.Document:
    return documents_pb2.Document(
        id=document.id, user_id=document.owner_id, document_type=document.document_type,
        title=document.title, description=document.description or "", filename=document.filename,
        content_type=document.content_type, file_size=document.size_bytes,
        sha256=document.sha256, download_url=f"/api/documents/{document.id}/download",
        created_at=timestamp(document.created_at), updated_at=timestamp(document.updated_at))


def _disposition(filename: str) -> str:
    """An attachment header safe for any file name (RFC 6266 with an RFC 5987 UTF-8 form)."""
    from urllib.parse import quote

    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


class DocumentServicer(documents_pb2_grpc.DocumentServiceServicer):
    """Thin transport layer over `hotgigs.documents.service`."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    def UploadDocument(self, request: documents_pb2.UploadDocumentRequest,
                       context: grpc.ServicerContext) -> documents_pb2.UploadDocumentResponse:
        with self.database.session_scope() as session:
            document = service.upload(
                session, actor=caller(), settings=self.settings,
                document_type=request.document_type, title=request.title,
                description=request.description, filename=request.filename,
                content_type=request.content_type, content=request.content)
            session.refresh(document)
            response = documents_pb2.UploadDocumentResponse(
                message="Document uploaded successfully", document=document_to_proto(document))
        return response

    def UploadDocumentRaw(self, request: documents_pb2.UploadDocumentRawRequest,
                          context: grpc.ServicerContext) -> documents_pb2.UploadDocumentRawResponse:
        with self.database.session_scope() as session:
            document = service.upload(
                session, actor=caller(), settings=self.settings,
                document_type=request.document_type, title=request.title,
                description=request.description, filename=request.filename,
                content_type=request.file.content_type, content=request.file.data)
            session.refresh(document)
            response = documents_pb2.UploadDocumentRawResponse(
                message="Document uploaded successfully", document=document_to_proto(document))
        return response

    def UploadDocumentStream(self, request_iterator: Iterator[
                                 documents_pb2.UploadDocumentStreamRequest],
                             context: grpc.ServicerContext
                             ) -> documents_pb2.UploadDocumentStreamResponse:
        """Collect the chunks, refusing the upload as soon as it passes the size limit."""
        actor = caller()
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("part") != "metadata":
            raise InvalidArgument("The first message must carry the metadata",
                                  [FieldViolation("metadata", "is required first")])
        content = bytearray()
        for part in request_iterator:
            if part.WhichOneof("part") != "chunk":
                raise InvalidArgument("Only chunks may follow the metadata",
                                      [FieldViolation("chunk", "expected")])
            content += part.chunk
            if len(content) > self.settings.document_max_bytes:
                raise InvalidArgument("The file is too large", [FieldViolation(
                    "content", f"must be at most "
                    f"{self.settings.document_max_bytes // (1024 * 1024)} MB")],
                    reason="FILE_TOO_LARGE")
        meta = first.metadata
        with self.database.session_scope() as session:
            document = service.upload(
                session, actor=actor, settings=self.settings, document_type=meta.document_type,
                title=meta.title, description=meta.description, filename=meta.filename,
                content_type=meta.content_type, content=bytes(content))
            session.refresh(document)
            return documents_pb2.UploadDocumentStreamResponse(
                message="Document uploaded successfully", document=document_to_proto(document))

    def ListDocuments(self, request: documents_pb2.ListDocumentsRequest,
                      context: grpc.ServicerContext) -> documents_pb2.ListDocumentsResponse:
        with self.database.session_scope() as session:
            rows, total, limit = service.list_mine(
                session, actor=caller(), document_type=request.document_type,
                limit=request.limit if request.HasField("limit") else None, offset=request.offset)
            return documents_pb2.ListDocumentsResponse(
                documents=[document_to_proto(d) for d in rows],
                pagination=common_pb2.OffsetPagination(limit=limit, offset=request.offset,
                                                        total=total))

    def GetDocument(self, request: documents_pb2.GetDocumentRequest,
                    context: grpc.ServicerContext) -> documents_pb2.GetDocumentResponse:
        with self.database.session_scope() as session:
            document = service.get(session, actor=caller(), document_id=request.id)
            return documents_pb2.GetDocumentResponse(document=document_to_proto(document))

    def DownloadDocument(self, request: documents_pb2.DownloadDocumentRequest,
                         context: grpc.ServicerContext) -> httpbody_pb2.HttpBody:
        with self.database.session_scope() as session:
            document = service.get(session, actor=caller(), document_id=request.id,
                                   with_content=True)
            body = httpbody_pb2.HttpBody(content_type=document.content_type,
                                         data=document.content)
            request_context.add_response_header("content-disposition",
                                                _disposition(document.filename))
        return body

    def DeleteDocument(self, request: documents_pb2.DeleteDocumentRequest,
                       context: grpc.ServicerContext) -> documents_pb2.DeleteDocumentResponse:
        with self.database.session_scope() as session:
            service.delete(session, actor=caller(), document_id=request.id)
        return documents_pb2.DeleteDocumentResponse(message="Document deleted successfully")

    def ListDocumentTypes(self, request: documents_pb2.ListDocumentTypesRequest,
                          context: grpc.ServicerContext
                          ) -> documents_pb2.ListDocumentTypesResponse:
        return documents_pb2.ListDocumentTypesResponse(
            document_types=[common_pb2.VocabularyEntry(value=kind, label=TYPE_LABELS[kind])
                            for kind in DOCUMENT_TYPES],
            max_file_size_bytes=self.settings.document_max_bytes,
            allowed_content_types=[files.FORMATS[k] for k in self.settings.document_allowed_types])


def build(components: Components) -> DocumentServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return DocumentServicer(components.database, components.settings)
