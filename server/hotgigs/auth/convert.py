"""Pure conversions of the auth module: an account is shown as the users module shows it."""

from __future__ import annotations

from hotgigs.users.convert import account_to_proto as user_to_proto

__all__ = ["user_to_proto"]
