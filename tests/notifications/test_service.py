"""The notifications service without gRPC or Envoy, on the real PostgreSQL of the suite.

Each test runs in one transaction of the module's own database (the `session` fixture), rolled
back at the end, so it sees only what it creates.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hotgigs.context import Principal
from hotgigs.core import pagination
from hotgigs.errors import InvalidArgument, NotFound
from hotgigs.notifications import service
from tests.factories import make_user


def _user(session: Session, *, user_type: str = "candidate", is_active: bool = True) -> Principal:
    user = make_user(session, user_type, is_active=is_active, with_profile=False)
    return Principal(user_id=user.id, role=user_type, session_id="", token_id="")


def _notify(session: Session, *users: Principal, kind: str = "info",
            sender: Principal | None = None) -> int:
    return len(service.notify(session, user_ids=[u.user_id for u in users], notification_type=kind,
                              title="Hello", message="A message",
                              sender_id=sender.user_id if sender else None))


class TestNotify:
    def test_skips_the_sender_inactive_users_and_muted_kinds(self, session: Session) -> None:
        """The sender never notifies themself; a deactivated user and a user who muted the kind
        get nothing."""
        sender, reader, gone, muting = (_user(session), _user(session),
                                        _user(session, is_active=False), _user(session))
        service.update_preferences(session, actor=muting,
                                   preferences_in=service.PreferencesIn(job_alerts=False))
        assert _notify(session, sender, reader, gone, muting, kind="job_alert", sender=sender) == 1
        assert service.unread_count(session, actor=reader) == 1
        assert service.unread_count(session, actor=muting) == 0


    def test_many_recipients_take_one_insert_of_notifications_and_one_of_mails(
            self, session: Session) -> None:
        """A job closing with many applicants notifies them all in one INSERT (and their mails
        in one more), not a statement per recipient; each gets its own row and mail."""
        readers = [_user(session) for _ in range(5)]
        inserts: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("INSERT"):
                inserts.append(statement.split("(", 1)[0].split()[-1])

        engine = session.get_bind()
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            created = service.notify(session, user_ids=[r.user_id for r in readers],
                                     notification_type="info", title="Closed", message="Gone")
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        assert sorted(inserts) == ["notifications", "outbox_emails"]
        assert sorted(n.user_id for n in created) == sorted(r.user_id for r in readers)
        assert all(n.id for n in created)
        assert [service.unread_count(session, actor=r) for r in readers] == [1] * 5


class TestPreferences:
    def test_only_the_switches_sent_change(self, session: Session) -> None:
        actor = _user(session)
        assert service.get_preferences(session, actor=actor) == service.Preferences()
        changed = service.update_preferences(session, actor=actor, preferences_in=service.PreferencesIn(
            email_notifications=False, messages=False, frequency="daily"))
        assert (changed.email_notifications, changed.messages, changed.frequency) == (False, False, "daily")
        again = service.update_preferences(session, actor=actor,
                                           preferences_in=service.PreferencesIn(marketing=True))
        assert again == service.Preferences(email_notifications=False, messages=False,
                                            marketing=True, frequency="daily")

    def test_rejects_an_unknown_frequency(self, session: Session) -> None:
        with pytest.raises(InvalidArgument):
            service.update_preferences(session, actor=_user(session),
                                       preferences_in=service.PreferencesIn(frequency="hourly"))


class TestList:
    def test_pages_newest_first_with_true_totals(self, session: Session) -> None:
        actor = _user(session)
        for _ in range(3):
            _notify(session, actor)
        page = service.list_notifications(session, actor=actor,
                                          list_in=service.ListIn(limit=2, offset=1))
        assert (page.total, page.limit, page.offset, page.unread, len(page.items)) == (3, 2, 1, 3, 2)
        assert page.items[0].id > page.items[1].id
        service.mark_all_read(session, actor=actor)
        unread = service.list_notifications(session, actor=actor,
                                            list_in=service.ListIn(unread_only=True))
        assert (unread.total, unread.limit) == (0, pagination.LIMIT_DEFAULT)

    @pytest.mark.parametrize("list_in", [service.ListIn(limit=0),
                                         service.ListIn(limit=pagination.LIMIT_MAX + 1),
                                         service.ListIn(offset=-1),
                                         service.ListIn(notification_type="spam")])
    def test_rejects_bad_parameters(self, session: Session, list_in: service.ListIn) -> None:
        with pytest.raises(InvalidArgument):
            service.list_notifications(session, actor=_user(session), list_in=list_in)


class TestOwnership:
    def test_another_users_notification_does_not_exist_for_the_caller(self, session: Session) -> None:
        owner, other = _user(session), _user(session)
        _notify(session, owner)
        notification_id = service.list_notifications(
            session, actor=owner, list_in=service.ListIn()).items[0].id
        with pytest.raises(NotFound):
            service.get(session, actor=other, notification_id=notification_id)
        with pytest.raises(NotFound):
            service.update(session, actor=other, notification_id=notification_id, is_read=True)
        assert service.find(session, actor=other, notification_id=notification_id) is None
        assert service.find(session, actor=owner, notification_id=notification_id) is not None


class TestCreate:
    def test_refuses_an_unknown_recipient_and_a_muted_kind(self, session: Session) -> None:
        admin, muting = _user(session, user_type="admin"), _user(session)
        with pytest.raises(NotFound):
            service.create(session, actor=admin, notification_in=service.NotificationIn(
                recipient_id=2_000_000_000, title="Hi", message="There"))
        service.update_preferences(session, actor=muting,
                                   preferences_in=service.PreferencesIn(messages=False))
        with pytest.raises(NotFound, match="muted"):
            service.create(session, actor=admin, notification_in=service.NotificationIn(
                recipient_id=muting.user_id, title="Hi", message="There",
                notification_type="message"))

    def test_sends_one_notification_with_server_defaults(self, session: Session) -> None:
        admin, reader = _user(session, user_type="admin"), _user(session)
        row = service.create(session, actor=admin, notification_in=service.NotificationIn(
            recipient_id=reader.user_id, title="<b>Hi</b>", message="There"))
        assert (row.user_id, row.title, row.notification_type, row.priority) == (
            reader.user_id, "Hi", "info", "normal")
        assert row.created_at is not None
