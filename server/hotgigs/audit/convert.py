"""Audit entries between protobuf and the service: pure functions."""

from __future__ import annotations

from google.protobuf import struct_pb2

from hotgigs.audit.service import ListIn, Page
from hotgigs.core.protos import timestamp
from hotgigs.models import AuditEntry
from hotgigs.v1 import audit_pb2, common_pb2


def list_in(request: audit_pb2.ListAuditEntriesRequest) -> ListIn:
    return ListIn(actor_user_id=request.actor_user_id if request.HasField("actor_user_id") else None,
                  action=request.action, target=request.target, since=request.since,
                  until=request.until,
                  limit=request.limit if request.HasField("limit") else None,
                  offset=request.offset)


def entry_to_proto(row: AuditEntry) -> audit_pb2.AuditEntry:
    details = struct_pb2.Struct()
    details.update(row.details or {})
    entry = audit_pb2.AuditEntry(id=row.id, created_at=timestamp(row.created_at),
                                 action=row.action, target=row.target, details=details)
    if row.actor_user_id is not None:
        entry.actor_user_id = row.actor_user_id
    return entry


def page_to_proto(page: Page) -> audit_pb2.ListAuditEntriesResponse:
    return audit_pb2.ListAuditEntriesResponse(
        entries=[entry_to_proto(row) for row in page.entries],
        pagination=common_pb2.OffsetPagination(limit=page.limit, offset=page.offset,
                                               total=page.total))
