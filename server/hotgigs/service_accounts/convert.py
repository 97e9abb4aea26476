"""Service accounts between protobuf and the service: requests to inputs, rows to messages."""

from __future__ import annotations

from hotgigs.core.protos import timestamp
from hotgigs.models import ServiceAccountKey
from hotgigs.service_accounts.service import Account, AccountIn, Issued, KeyIn
from hotgigs.v1 import service_accounts_pb2 as pb


def account_in(request: pb.CreateServiceAccountRequest) -> AccountIn:
    return AccountIn(name=request.name, owner_id=request.owner_id, scopes=tuple(request.scopes),
                     expires_in_days=request.expires_in_days)


def key_in(request: pb.RotateServiceAccountKeyRequest) -> KeyIn:
    return KeyIn(account_id=request.account_id, expires_in_days=request.expires_in_days)


def key_to_proto(row: ServiceAccountKey) -> pb.ServiceAccountKey:
    return pb.ServiceAccountKey(id=row.id, prefix=row.prefix, created_at=timestamp(row.created_at),
                                expires_at=timestamp(row.expires_at),
                                last_used_at=timestamp(row.last_used_at),
                                revoked_at=timestamp(row.revoked_at))


def account_to_proto(account: Account) -> pb.ServiceAccount:
    row = account.row
    return pb.ServiceAccount(id=row.id, name=row.name, owner_id=row.owner_id, scopes=row.scopes,
                             created_at=timestamp(row.created_at),
                             keys=[key_to_proto(key) for key in account.keys])


def issued_to_proto(issued: Issued) -> pb.IssuedServiceAccountKey:
    return pb.IssuedServiceAccountKey(key=issued.key, info=key_to_proto(issued.row))
