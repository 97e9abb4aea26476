"""`hotgigs.v1.AuditService`: protobuf in, audit service, protobuf out."""

from __future__ import annotations

import grpc

from hotgigs.audit import convert, service
from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.v1 import audit_pb2, audit_pb2_grpc


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    """Thin transport layer over `hotgigs.audit.service`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def ListAuditEntries(self, request: audit_pb2.ListAuditEntriesRequest,
                         context: grpc.ServicerContext) -> audit_pb2.ListAuditEntriesResponse:
        list_in = convert.list_in(request)
        with self.database.session_scope() as session:
            return convert.page_to_proto(service.list_entries(session, actor=caller(),
                                                              list_in=list_in))


def build(components: Components) -> AuditServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return AuditServicer(components.database)
