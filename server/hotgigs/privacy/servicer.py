"""`hotgigs.v1.PrivacyService`: protobuf in, privacy service, protobuf out (the export as a
stream of zip chunks)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.api import httpbody_pb2

from hotgigs import context as request_context
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.privacy import archive, convert, service
from hotgigs.security.sessions import SessionStore
from hotgigs.v1 import privacy_pb2, privacy_pb2_grpc

ZIP = "application/zip"


class PrivacyServicer(privacy_pb2_grpc.PrivacyServiceServicer):
    """Thin transport layer over `hotgigs.privacy.service`."""

    def __init__(self, database: Database, sessions: SessionStore) -> None:
        self.database = database
        self.sessions = sessions

    def _export(self, user_id: int) -> Iterator[httpbody_pb2.HttpBody]:
        with self.database.session_scope() as session:  # committed: the audit entry stands
            export = service.prepare_export(session, actor=caller(),
                                            keyring=self.database.keyring, user_id=user_id)
        request_context.add_response_header("content-disposition", convert.disposition(user_id))
        for chunk in archive.chunks(export.files, export.documents, self._document):
            yield httpbody_pb2.HttpBody(content_type=ZIP, data=chunk)

    def _document(self, document_id: int) -> bytes | None:
        with self.database.session_scope() as session:  # one document, one short transaction
            return service.document_content(session, keyring=self.database.keyring,
                                            document_id=document_id)

    def ExportMyData(self, request: privacy_pb2.ExportMyDataRequest,
                     context: grpc.ServicerContext) -> Iterator[httpbody_pb2.HttpBody]:
        yield from self._export(caller().user_id)

    def ExportUserData(self, request: privacy_pb2.ExportUserDataRequest,
                       context: grpc.ServicerContext) -> Iterator[httpbody_pb2.HttpBody]:
        yield from self._export(request.user_id)

    def EraseMyData(self, request: privacy_pb2.EraseMyDataRequest,
                    context: grpc.ServicerContext) -> privacy_pb2.EraseMyDataResponse:
        actor = caller()
        with self.database.session_scope() as session:
            erased = service.erase(session, actor=actor, sessions=self.sessions,
                                   user_id=actor.user_id, password=request.password)
        return privacy_pb2.EraseMyDataResponse(erasure=convert.erasure_to_proto(erased))

    def EraseUserData(self, request: privacy_pb2.EraseUserDataRequest,
                      context: grpc.ServicerContext) -> privacy_pb2.EraseUserDataResponse:
        with self.database.session_scope() as session:
            erased = service.erase(session, actor=caller(), sessions=self.sessions,
                                   user_id=request.user_id)
        return privacy_pb2.EraseUserDataResponse(erasure=convert.erasure_to_proto(erased))


def build(components: Components) -> PrivacyServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return PrivacyServicer(components.database, components.security.sessions)
