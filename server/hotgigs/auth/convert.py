"""Pure conversions between auth models and protobuf messages."""

from __future__ import annotations

from hotgigs.core.protos import timestamp
from hotgigs.models import User
from hotgigs.v1 import common_pb2


def user_to_proto(user: User) -> common_pb2.User:
    """The account as its owner (or an admin) sees it."""
    return common_pb2.User(
        id=user.id, email=user.email, first_name=user.first_name, last_name=user.last_name,
        user_type=user.user_type, phone=user.phone or "",
        profile_image_url=getattr(user, "profile_image_url", None) or "",
        is_active=user.is_active, is_verified=user.email_verified_at is not None,
        created_at=timestamp(user.created_at), updated_at=timestamp(user.updated_at),
        last_login_at=timestamp(user.last_login_at),
    )
