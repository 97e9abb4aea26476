"""The RPCs of `hotgigs.v1.DocumentService`: who may call each (`hotgigs.core.rpc`), which
creates are idempotent, and which answer other than 200 over REST."""

from __future__ import annotations

from typing import Final

from hotgigs.core.rpc import PROBE, PUBLIC, SIGNED_IN, Rpc, created, signed_in

SERVICE: Final = "DocumentService"
RPCS: Final = {
    "ListDocuments": Rpc(signed_in("own documents")),
    "UploadDocument": created(SIGNED_IN, idempotent=True),
    "GetDocument": Rpc(signed_in("owner, or member of a company the owner applied to")),
    "DeleteDocument": Rpc(signed_in("owner")),
    "ListDocumentTypes": Rpc(PUBLIC),
    "DownloadDocument": Rpc(signed_in("owner, or member of a company the owner applied to")),
    "UploadDocumentRaw": created(SIGNED_IN, idempotent=True),
    "UploadDocumentStream": Rpc(SIGNED_IN),
    # grpc.health.v1 status of this service: answered by the health module.
    "GetDocumentsHealth": Rpc(PROBE, served_by="health"),
}
