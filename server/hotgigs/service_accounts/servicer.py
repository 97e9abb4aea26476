"""`hotgigs.v1.ServiceAccountService`: protobuf in, service-accounts service, protobuf out."""

from __future__ import annotations

import grpc

from hotgigs.context import require_principal as caller
from hotgigs.core.components import Components
from hotgigs.db import Database
from hotgigs.security.api_keys import ApiKeys
from hotgigs.service_accounts import convert, service
from hotgigs.v1 import service_accounts_pb2 as pb
from hotgigs.v1 import service_accounts_pb2_grpc


class ServiceAccountServicer(service_accounts_pb2_grpc.ServiceAccountServiceServicer):
    """Thin transport layer over `hotgigs.service_accounts.service`."""

    def __init__(self, database: Database, pepper: str | None, keys: ApiKeys) -> None:
        self.database = database
        self.pepper = pepper
        self.keys = keys

    def CreateServiceAccount(self, request: pb.CreateServiceAccountRequest,
                             context: grpc.ServicerContext) -> pb.CreateServiceAccountResponse:
        account_in = convert.account_in(request)
        with self.database.session_scope() as session:
            account, issued = service.create(session, actor=caller(), pepper=self.pepper,
                                             account_in=account_in)
            return pb.CreateServiceAccountResponse(account=convert.account_to_proto(account),
                                                   key=convert.issued_to_proto(issued))

    def ListServiceAccounts(self, request: pb.ListServiceAccountsRequest,
                            context: grpc.ServicerContext) -> pb.ListServiceAccountsResponse:
        with self.database.session_scope() as session:
            accounts = service.list_accounts(session, actor=caller())
            return pb.ListServiceAccountsResponse(
                accounts=[convert.account_to_proto(account) for account in accounts])

    def RotateServiceAccountKey(self, request: pb.RotateServiceAccountKeyRequest,
                                context: grpc.ServicerContext) -> pb.RotateServiceAccountKeyResponse:
        key_in = convert.key_in(request)
        with self.database.session_scope() as session:
            issued = service.rotate(session, actor=caller(), pepper=self.pepper, key_in=key_in)
            return pb.RotateServiceAccountKeyResponse(key=convert.issued_to_proto(issued))

    def RevokeServiceAccountKey(self, request: pb.RevokeServiceAccountKeyRequest,
                                context: grpc.ServicerContext) -> pb.RevokeServiceAccountKeyResponse:
        with self.database.session_scope() as session:
            key = service.revoke(session, actor=caller(), account_id=request.account_id,
                                 key_id=request.key_id)
            answer = pb.RevokeServiceAccountKeyResponse(key=convert.key_to_proto(key))
        self.keys.forget([key.prefix])  # this worker at once; the others within the TTL
        return answer


def build(components: Components) -> ServiceAccountServicer:
    """The servicer of the running process (`hotgigs.manifest`)."""
    return ServiceAccountServicer(components.database, components.settings.api_key_pepper,
                                  components.security.keys)
