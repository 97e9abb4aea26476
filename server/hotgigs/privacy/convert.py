"""Privacy answers as protobuf messages: pure functions."""

from __future__ import annotations

from hotgigs.core.protos import timestamp
from hotgigs.privacy.service import Erased
from hotgigs.v1 import privacy_pb2


def erasure_to_proto(erased: Erased) -> privacy_pb2.Erasure:
    return privacy_pb2.Erasure(user_id=erased.user_id, erased_at=timestamp(erased.erased_at),
                               removed=erased.removed)


def disposition(user_id: int) -> str:
    return f'attachment; filename="hotgigs-export-user-{user_id}.zip"'
