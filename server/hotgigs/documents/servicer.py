"""`hotgigs.v1.DocumentService`: protobuf in, documents service, protobuf out."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.api import httpbody_pb2

from hotgigs import context as request_context
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.documents import convert, service
from hotgigs.errors import FieldViolation, InvalidArgument
from hotgigs.settings import Settings
from hotgigs.v1 import common_pb2, documents_pb2, documents_pb2_grpc

UPLOADED = "Document uploaded successfully"


class DocumentServicer(documents_pb2_grpc.DocumentServiceServicer):
    """Thin transport layer over `hotgigs.documents.service`."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    def _create(self, upload_in: service.UploadIn) -> documents_pb2.Document:
        actor = caller()
        with self.database.session_scope() as session:
            document = service.create(session, actor=actor, settings=self.settings,
                                      keyring=self.database.keyring, upload_in=upload_in)
            return convert.document_to_proto(document)

    def UploadDocument(self, request: documents_pb2.UploadDocumentRequest,
                       context: grpc.ServicerContext) -> documents_pb2.UploadDocumentResponse:
        document = self._create(convert.upload_in(request))
        return documents_pb2.UploadDocumentResponse(message=UPLOADED, document=document)

    def UploadDocumentRaw(self, request: documents_pb2.UploadDocumentRawRequest,
                          context: grpc.ServicerContext) -> documents_pb2.UploadDocumentRawResponse:
        document = self._create(convert.raw_upload_in(request))
        return documents_pb2.UploadDocumentRawResponse(message=UPLOADED, document=document)

    def UploadDocumentStream(self, request_iterator: Iterator[
                                 documents_pb2.UploadDocumentStreamRequest],
                             context: grpc.ServicerContext
                             ) -> documents_pb2.UploadDocumentStreamResponse:
        """Collect the chunks, refusing the upload as soon as it passes the size limit."""
        caller()
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
            service.check_size(self.settings, len(content))
        document = self._create(convert.stream_upload_in(first.metadata, bytes(content)))
        return documents_pb2.UploadDocumentStreamResponse(message=UPLOADED, document=document)

    def ListDocuments(self, request: documents_pb2.ListDocumentsRequest,
                      context: grpc.ServicerContext) -> documents_pb2.ListDocumentsResponse:
        list_in = convert.list_in(request)
        with self.database.session_scope() as session:
            page = service.list_documents(session, actor=caller(), list_in=list_in)
            return documents_pb2.ListDocumentsResponse(
                documents=[convert.document_to_proto(d) for d in page.items],
                pagination=common_pb2.OffsetPagination(limit=page.limit, offset=page.offset,
                                                        total=page.total))

    def GetDocument(self, request: documents_pb2.GetDocumentRequest,
                    context: grpc.ServicerContext) -> documents_pb2.GetDocumentResponse:
        with self.database.session_scope() as session:
            document = service.get(session, actor=caller(), document_id=request.id)
            return documents_pb2.GetDocumentResponse(document=convert.document_to_proto(document))

    def DownloadDocument(self, request: documents_pb2.DownloadDocumentRequest,
                         context: grpc.ServicerContext) -> httpbody_pb2.HttpBody:
        with self.database.session_scope() as session:
            document, content = service.download(session, actor=caller(),
                                                 keyring=self.database.keyring,
                                                 document_id=request.id)
            body = httpbody_pb2.HttpBody(content_type=document.content_type, data=content)
            request_context.add_response_header("content-disposition",
                                                convert.disposition(document.filename))
        return body

    def DeleteDocument(self, request: documents_pb2.DeleteDocumentRequest,
                       context: grpc.ServicerContext) -> documents_pb2.DeleteDocumentResponse:
        with self.database.session_scope() as session:
            service.delete(session, actor=caller(), document_id=request.id)
        return documents_pb2.DeleteDocumentResponse(message="Document deleted successfully")

    def ListDocumentTypes(self, request: documents_pb2.ListDocumentTypesRequest,
                          context: grpc.ServicerContext
                          ) -> documents_pb2.ListDocumentTypesResponse:
        return convert.document_types(self.settings.document_max_bytes,
                                      self.settings.document_allowed_types)


def build(components: Components) -> DocumentServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return DocumentServicer(components.database, components.settings)
