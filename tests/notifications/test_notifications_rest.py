"""Notifications over REST through Envoy: created by real events, preferences honoured,
mailed through the real SMTP server, and pushed live as Server-Sent Events."""

from __future__ import annotations

import time

import httpx
import pytest
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.models import User
from tests import factories
from tests.support.rest import STRONG_PASSWORD, LiveFeed, apply, bearer, notifications_of, register
from tests.support.servers import MailBox, RunningEnvoy


def test_an_application_notifies_the_company_in_app_and_by_mail(
        rest: httpx.Client, mailbox: MailBox) -> None:
    owner, job = factories.owner_with_job(rest, company_name="Notify Co")
    candidate = register(rest, "candidate")
    assert apply(rest, candidate, job["id"]).status_code == 201
    body = notifications_of(rest, owner)
    assert body["unread_count"] == 1
    [note] = body["notifications"]
    assert note["notification_type"] == "application_update"
    assert job["title"] in note["title"]
    assert note["sender_id"] == candidate["user"]["id"]
    mails = [m for m in mailbox.wait_for(owner["user"]["email"], count=2)
             if m["Subject"].startswith("HotGigs: New application")]
    assert len(mails) == 1


def test_status_changes_and_closing_notify_the_candidate(rest: httpx.Client) -> None:
    owner, job = factories.owner_with_job(rest, company_name="Notify Co")
    candidate = register(rest, "candidate")
    app_id = apply(rest, candidate, job["id"]).json()["application"]["id"]
    rest.put(f"/api/applications/{app_id}", headers=bearer(owner), json={"status": "screening"})
    rest.delete(f"/api/jobs/{job['id']}", headers=bearer(owner))
    kinds = [(n["notification_type"], n["title"]) for n in
             notifications_of(rest, candidate)["notifications"]]
    assert kinds[0] == ("job_alert", f"{job['title']} is closed")
    assert kinds[1][0] == "application_update" and kinds[1][1].endswith("screening")


@pytest.mark.parametrize("how", ["DELETE", "PUT status closed"])
def test_closing_a_job_either_way_notifies_its_applicants(rest: httpx.Client, how: str) -> None:
    """Issue 12 item 15: PUT /api/jobs/{id} {"status": "closed"} notified nobody (DELETE did);
    both now go through one status change, which names no company user as the sender."""
    owner, job = factories.owner_with_job(rest, company_name="Notify Co")
    candidate = register(rest, "candidate")
    assert apply(rest, candidate, job["id"]).status_code == 201
    if how == "DELETE":
        closed = rest.delete(f"/api/jobs/{job['id']}", headers=bearer(owner))
    else:
        closed = rest.put(f"/api/jobs/{job['id']}", headers=bearer(owner), json={"status": "closed"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["job"]["status"] == "closed"
    alerts = [n for n in notifications_of(rest, candidate)["notifications"]
              if n["notification_type"] == "job_alert"]
    assert [n["title"] for n in alerts] == [f"{job['title']} is closed"]
    assert alerts[0].get("sender_id") is None
    again = rest.put(f"/api/jobs/{job['id']}", headers=bearer(owner), json={"status": "closed"})
    assert again.status_code == 200
    assert len([n for n in notifications_of(rest, candidate)["notifications"]
                if n["notification_type"] == "job_alert"]) == 1, "closing twice notifies once"


def test_preferences_are_stored_and_honoured(rest: httpx.Client, mailbox: MailBox) -> None:
    owner, job = factories.owner_with_job(rest, company_name="Notify Co")
    defaults = rest.get("/api/notifications/preferences", headers=bearer(owner)).json()
    assert defaults["preferences"]["application_updates"] is True
    updated = rest.put("/api/notifications/preferences", headers=bearer(owner),
                       json={"application_updates": False, "frequency": "daily"})
    assert updated.status_code == 200
    assert updated.json()["preferences"]["application_updates"] is False
    assert rest.get("/api/notifications/preferences", headers=bearer(owner)).json()[
        "preferences"]["frequency"] == "daily"
    apply(rest, register(rest, "candidate"), job["id"])
    assert notifications_of(rest, owner)["pagination"]["total"] == 0
    bad = rest.put("/api/notifications/preferences", headers=bearer(owner),
                   json={"frequency": "hourly"})
    assert bad.status_code == 400
    # e-mail off, in-app still on
    other_owner, other_job = factories.owner_with_job(rest, company_name="Notify Co")
    rest.put("/api/notifications/preferences", headers=bearer(other_owner),
             json={"email_notifications": False})
    apply(rest, register(rest, "candidate"), other_job["id"])
    assert notifications_of(rest, other_owner)["unread_count"] == 1
    time.sleep(0.5)
    assert not [m for m in mailbox.to(other_owner["user"]["email"])
                if m["Subject"].startswith("HotGigs: New application")]


def test_read_delete_clear_and_stats(rest: httpx.Client) -> None:
    owner, job = factories.owner_with_job(rest, company_name="Notify Co")
    for _ in range(3):
        apply(rest, register(rest, "candidate"), job["id"])
    notes = notifications_of(rest, owner)["notifications"]
    first = notes[0]["id"]
    read = rest.put(f"/api/notifications/{first}", headers=bearer(owner), json={"is_read": True})
    assert read.json()["notification"]["is_read"] is True
    assert notifications_of(rest, owner, unread_only="true")["pagination"]["total"] == 2
    stats = rest.get("/api/notifications/stats", headers=bearer(owner)).json()["statistics"]
    assert stats == {"total_notifications": 3, "unread_notifications": 2, "read_notifications": 1,
                     "by_type": {"application_update": 3}}
    stranger = register(rest, "company")
    assert rest.get(f"/api/notifications/{first}", headers=bearer(stranger)).status_code == 404
    assert rest.delete(f"/api/notifications/{first}", headers=bearer(owner)).status_code == 200
    marked = rest.post("/api/notifications/mark-all-read", headers=bearer(owner), json={})
    assert marked.json()["updated_count"] == 2
    cleared = rest.delete("/api/notifications/clear-all", headers=bearer(owner))
    assert cleared.json()["deleted_count"] == 2
    assert notifications_of(rest, owner)["pagination"]["total"] == 0


def test_only_admins_create_notifications(rest: httpx.Client, database: Database) -> None:
    admin = register(rest, "company")
    with database.session_scope() as session:
        session.execute(sa.update(User).where(User.id == admin["user"]["id"])
                        .values(user_type="admin"))
    admin = rest.post("/api/auth/login", json={"email": admin["user"]["email"],
                                               "password": STRONG_PASSWORD}).json()
    target = register(rest, "candidate")
    payload = {"recipient_id": target["user"]["id"], "title": "Maintenance",
               "message": "We will be down for 5 minutes.", "notification_type": "warning",
               "priority": "high"}
    assert rest.post("/api/notifications", headers=bearer(target), json=payload).status_code == 403
    created = rest.post("/api/notifications", headers=bearer(admin), json=payload)
    assert created.status_code == 201, created.text
    assert notifications_of(rest, target)["notifications"][0]["priority"] == "high"


def test_the_live_feed_pushes_an_event_before_the_next_heartbeat(rest: httpx.Client,
                                                                  envoy: RunningEnvoy) -> None:
    """The event comes as its own message, not with the next 30 s heartbeat (no timing asserted)."""
    owner, job = factories.owner_with_job(rest, company_name="Notify Co")
    listener = LiveFeed(envoy.base_url, owner)
    events = listener.events
    assert listener.connected.wait(10), "no heartbeat from the stream"
    assert events[0]["event"] == "heartbeat"  # sent once the subscription is in place
    apply(rest, register(rest, "candidate"), job["id"])
    listener.join(10)
    assert len(events) == 2, events
    event = events[1]  # within the 10 s join, well before the 30 s heartbeat
    assert event["event"] == "created"
    assert event["notification"]["notification_type"] == "application_update"
    assert event["unread_count"] == 1
