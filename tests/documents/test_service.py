"""The documents service without gRPC or Envoy, on the real PostgreSQL of the suite.

Each test runs in one transaction of the module's own database (the `session` fixture), rolled
back at the end, so it sees only what it creates.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from hotgigs.context import Principal
from hotgigs.core import pagination
from hotgigs.documents import service
from hotgigs.errors import InvalidArgument, NotFound, PermissionDenied
from hotgigs.settings import Settings
from tests.factories import make_user
from tests.support.servers import suite_keyring

TEXT = b"Jane Doe\nPython engineer, ten years of backend services.\n"



def _user(session: Session, user_type: str = "candidate") -> Principal:
    user = make_user(session, user_type, with_profile=False)
    return Principal(user_id=user.id, role=user_type, session_id="", token_id="")


def _upload(session: Session, settings: Settings, owner: Principal, **fields: object) -> int:
    upload_in = service.UploadIn(**{"filename": "cv.txt", "content": TEXT,
                                    "content_type": "text/plain", **fields})  # type: ignore[arg-type]
    return service.create(session, actor=owner, settings=settings, keyring=suite_keyring(),
                          upload_in=upload_in).id


class TestCreate:
    def test_stores_a_checked_upload_with_its_text(self, session: Session, settings: Settings) -> None:
        owner = _user(session)
        document = service.get(session, actor=owner, document_id=_upload(session, settings, owner),
                               with_content=True, with_text=True)
        assert (document.title, document.document_type, document.size_bytes) == (
            "cv.txt", "resume", len(TEXT))
        assert document.content != TEXT and document.kek_id == "test1"  # stored encrypted
        assert service.plain_content(suite_keyring(), document) == TEXT
        assert "Python engineer" in (service.plain_text(suite_keyring(), document) or "")
        assert document.created_at is not None

    @pytest.mark.parametrize("fields", [{"filename": "../etc/cv.txt"}, {"content": b""},
                                        {"filename": "cv.exe", "content_type": ""},
                                        {"document_type": "tax_return"}])
    def test_refuses_bad_uploads(self, session: Session, settings: Settings,
                                 fields: dict[str, object]) -> None:
        with pytest.raises(InvalidArgument):
            _upload(session, settings, _user(session), **fields)

    def test_refuses_a_file_over_the_limit_before_reading_it(self, settings: Settings) -> None:
        with pytest.raises(InvalidArgument, match="too large"):
            service.check_size(settings, settings.document_max_bytes + 1)


class TestRead:
    def test_only_the_owner_and_admins_read_an_unattached_document(
            self, session: Session, settings: Settings) -> None:
        owner, stranger, admin = _user(session), _user(session, "company"), _user(session, "admin")
        document_id = _upload(session, settings, owner)
        with pytest.raises(PermissionDenied):
            service.get(session, actor=stranger, document_id=document_id)
        assert service.get(session, actor=admin, document_id=document_id).id == document_id
        assert service.list_readable(session, actor=stranger, owner_id=owner.user_id) == []
        assert [d.id for d in service.list_readable(session, actor=owner,
                                                    owner_id=owner.user_id)] == [document_id]

    def test_only_the_owner_deletes(self, session: Session, settings: Settings) -> None:
        owner, other = _user(session), _user(session)
        document_id = _upload(session, settings, owner)
        with pytest.raises(NotFound):
            service.delete(session, actor=other, document_id=document_id)
        service.delete(session, actor=owner, document_id=document_id)
        with pytest.raises(NotFound):
            service.get(session, actor=owner, document_id=document_id)


class TestList:
    def test_pages_the_callers_documents(self, session: Session, settings: Settings) -> None:
        owner = _user(session)
        ids = [_upload(session, settings, owner, title=f"CV {n}") for n in range(3)]
        _upload(session, settings, _user(session))  # someone else's
        page = service.list_documents(session, actor=owner,
                                      list_in=service.ListIn(limit=2, offset=0))
        assert (page.total, page.limit, page.offset) == (3, 2, 0)
        assert {d.id for d in page.items} <= set(ids)

    @pytest.mark.parametrize("list_in", [service.ListIn(limit=pagination.LIMIT_MAX + 1),
                                         service.ListIn(offset=pagination.OFFSET_MAX + 1),
                                         service.ListIn(document_type="tax_return")])
    def test_refuses_bad_parameters(self, session: Session, list_in: service.ListIn) -> None:
        with pytest.raises(InvalidArgument):
            service.list_documents(session, actor=_user(session), list_in=list_in)
