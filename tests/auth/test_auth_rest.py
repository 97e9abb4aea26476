"""Accounts over REST through the real Envoy, PostgreSQL, Redis and SMTP server."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid

import httpx
import jwt
import pytest
import sqlalchemy as sa

from hotgigs.db import Database
from hotgigs.models import CandidateProfile, User
from hotgigs.settings import Settings
from tests.support.rest import STRONG_PASSWORD, bearer, register, unique_email
from tests.support.servers import MailBox


def violations(response: httpx.Response) -> list[tuple[str, str]]:
    found = []
    for detail in response.json()["details"]:
        for violation in detail.get("field_violations", detail.get("fieldViolations", [])):
            found.append((violation["field"], violation["description"]))
    return found


class TestRegister:
    def test_register_answers_201_with_user_and_tokens(self, rest: httpx.Client,
                                                        database: Database) -> None:
        email = unique_email()
        response = rest.post("/api/auth/register", json={
            "email": email.upper(), "password": STRONG_PASSWORD, "first_name": "Ada",
            "last_name": "Lovelace", "user_type": "candidate", "phone": "+44 20 7946 0000"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["message"]
        assert body["user"]["email"] == email
        assert body["user"]["user_type"] == "candidate"
        assert body["user"]["first_name"] == "Ada"
        assert body["access_token"] and body["refresh_token"]
        assert body["expires_in"] == 3600
        with database.session_scope() as session:
            assert session.get(CandidateProfile, body["user"]["id"]) is not None

    def test_freelance_recruiter_is_an_alias_of_recruiter(self, rest: httpx.Client) -> None:
        body = register(rest, "freelance_recruiter")
        assert body["user"]["user_type"] == "recruiter"

    def test_admin_cannot_self_register(self, rest: httpx.Client) -> None:
        response = rest.post("/api/auth/register", json={
            "email": unique_email(), "password": STRONG_PASSWORD, "first_name": "A",
            "last_name": "B", "user_type": "admin"})
        assert response.status_code == 400
        assert any(field == "user_type" for field, _ in violations(response))

    def test_duplicate_email_is_409_whatever_the_case(self, rest: httpx.Client) -> None:
        first = register(rest, "company")
        again = rest.post("/api/auth/register", json={
            "email": first["user"]["email"].upper(), "password": STRONG_PASSWORD,
            "first_name": "X", "last_name": "Y", "user_type": "company"})
        assert again.status_code == 409
        assert again.json()["code"] == 6

    @pytest.mark.parametrize(("password", "rule"), [
        ("Sh0rt!", "length"),
        ("alllower!23x", "uppercase"),
        ("ALLUPPER!23X", "lowercase"),
        ("NoDigits!here", "digit"),
        ("NoSpecial123x", "special"),
        ("Password1!", "common"),
        ("Xy!1234zzQ", "sequence"),
        ("Xy!9qwerty", "sequence"),
        ("Gooo!d9Pass", "repeated"),
        ("x" * 129, "length"),
    ])
    def test_weak_password_is_refused_naming_the_rule(self, rest: httpx.Client, password: str,
                                                      rule: str) -> None:
        response = rest.post("/api/auth/register", json={
            "email": unique_email(), "password": password, "first_name": "A", "last_name": "B",
            "user_type": "candidate"})
        assert response.status_code == 400
        rules = [description.split(":")[0] for field, description in violations(response)
                 if field == "password"]
        assert rule in rules

    def test_every_bad_field_is_reported_at_once(self, rest: httpx.Client) -> None:
        response = rest.post("/api/auth/register", json={
            "email": "not-an-email", "password": "weak", "first_name": "", "last_name": "B" * 101,
            "user_type": "pirate"})
        assert response.status_code == 400
        fields = {field for field, _ in violations(response)}
        assert {"email", "password", "first_name", "last_name", "user_type"} <= fields

    def test_xss_in_a_name_is_not_reflected(self, rest: httpx.Client) -> None:
        response = rest.post("/api/auth/register", json={
            "email": unique_email(), "password": STRONG_PASSWORD,
            "first_name": "<script>alert(1)</script>Eve",
            "last_name": "&lt;img src=x onerror=alert(1)&gt;Doe",
            "user_type": "candidate"})
        assert response.status_code == 201, response.text
        assert "<script" not in response.text.lower()
        assert "onerror" not in response.text.lower()
        assert response.json()["user"]["first_name"] == "Eve"
        me = rest.get("/api/auth/me", headers=bearer(response.json()))
        assert "<script" not in me.text.lower()

    def test_control_characters_are_refused(self, rest: httpx.Client) -> None:
        response = rest.post("/api/auth/register", json={
            "email": unique_email(), "password": STRONG_PASSWORD, "first_name": "Ev\u0000e",
            "last_name": "Doe", "user_type": "candidate"})
        assert response.status_code == 400
        assert ("first_name", "must not contain control characters") in violations(response)


class TestLogin:
    def test_login_and_wrong_password(self, rest: httpx.Client) -> None:
        account = register(rest, "candidate")
        email = account["user"]["email"]
        ok = rest.post("/api/auth/login", json={"email": email, "password": STRONG_PASSWORD})
        assert ok.status_code == 200
        assert ok.json()["user"]["id"] == account["user"]["id"]
        assert ok.json()["message"] == "Login successful"
        wrong = rest.post("/api/auth/login", json={"email": email, "password": STRONG_PASSWORD + "x"})
        assert wrong.status_code == 401
        unknown = rest.post("/api/auth/login", json={"email": unique_email(), "password": "x"})
        assert unknown.status_code == 401
        assert unknown.json()["message"] == wrong.json()["message"], "no account probing"

    @pytest.mark.parametrize(("email", "password"), [
        ("' OR '1'='1", "' OR '1'='1"),
        ("admin'--", "anything"),
        ("x@example.com' OR 1=1 --", "' OR 1=1 --"),
        ("\"; DROP TABLE users; --", "x"),
        ("{email}", "' OR ''='"),
    ])
    def test_sql_injection_never_logs_in(self, rest: httpx.Client, database: Database,
                                         email: str, password: str) -> None:
        account = register(rest, "candidate")
        response = rest.post("/api/auth/login", json={
            "email": email.format(email=account["user"]["email"]), "password": password})
        assert response.status_code == 401
        with database.session_scope() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(User)) > 0

    def test_repeated_failures_throttle_the_address(self, rest: httpx.Client,
                                                settings: Settings) -> None:
        account = register(rest, "company")
        email = account["user"]["email"]
        for _ in range(settings.login_max_failures):
            assert rest.post("/api/auth/login",
                             json={"email": email, "password": "Wrong!pass9"}).status_code == 401
        locked = rest.post("/api/auth/login", json={"email": email, "password": STRONG_PASSWORD})
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0
        assert int(locked.headers["retry-after"]) <= settings.login_lockout_seconds + 1


class TestTokens:
    def test_no_token_is_401(self, rest: httpx.Client) -> None:
        response = rest.get("/api/auth/me")
        assert response.status_code == 401
        assert response.json()["code"] == 16

    def test_expired_token_is_401(self, rest: httpx.Client, settings: Settings) -> None:
        account = register(rest, "candidate")
        claims = jwt.decode(account["access_token"], options={"verify_signature": False})
        claims["exp"] = int((dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)).timestamp())
        expired = jwt.encode(claims, settings.jwt_secret_key, algorithm="HS256")
        response = rest.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
        assert response.status_code == 401
        assert "expired" in response.json()["message"].lower()

    def test_tampered_signature_is_401(self, rest: httpx.Client) -> None:
        token = register(rest, "candidate")["access_token"]
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims["role"] = "admin"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        for bad in (f"{header}.{forged}.{signature}", token[:-2] + ("AA" if token[-2:] != "AA" else "BB")):
            response = rest.get("/api/auth/me", headers={"Authorization": f"Bearer {bad}"})
            assert response.status_code == 401

    def test_alg_none_is_401(self, rest: httpx.Client) -> None:
        token = register(rest, "candidate")["access_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        response = rest.get("/api/auth/me", headers={"Authorization": f"Bearer {header}.{body}."})
        assert response.status_code == 401

    def test_refresh_token_is_not_an_access_token(self, rest: httpx.Client) -> None:
        account = register(rest, "candidate")
        response = rest.get("/api/auth/me",
                            headers={"Authorization": f"Bearer {account['refresh_token']}"})
        assert response.status_code == 401

    def test_tokens_carry_jti_role_and_user_id(self, rest: httpx.Client) -> None:
        account = register(rest, "recruiter")
        claims = jwt.decode(account["access_token"], options={"verify_signature": False})
        assert claims["jti"] and claims["role"] == "recruiter"
        assert claims["sub"] == str(account["user"]["id"])

    def test_refresh_rotates_and_reuse_revokes_the_session(self, rest: httpx.Client) -> None:
        account = register(rest, "candidate")
        first = rest.post("/api/auth/refresh", json={"refresh_token": account["refresh_token"]})
        assert first.status_code == 200, first.text
        rotated = first.json()
        assert rotated["refresh_token"] != account["refresh_token"]
        assert rest.get("/api/auth/me", headers=bearer(rotated)).status_code == 200
        # The original API sends the refresh token as the bearer token: that works too.
        second = rest.post("/api/auth/refresh", json={},
                           headers={"Authorization": f"Bearer {rotated['refresh_token']}"})
        assert second.status_code == 200
        latest = second.json()
        reused = rest.post("/api/auth/refresh", json={"refresh_token": account["refresh_token"]})
        assert reused.status_code == 401
        assert "already used" in reused.json()["message"]
        # The whole family is gone: the newest tokens no longer work either.
        assert rest.get("/api/auth/me", headers=bearer(latest)).status_code == 401
        assert rest.post("/api/auth/refresh",
                         json={"refresh_token": latest["refresh_token"]}).status_code == 401

    def test_logout_makes_the_tokens_useless(self, rest: httpx.Client) -> None:
        account = register(rest, "company")
        assert rest.get("/api/auth/me", headers=bearer(account)).status_code == 200
        assert rest.post("/api/auth/logout", json={}, headers=bearer(account)).status_code == 200
        assert rest.get("/api/auth/me", headers=bearer(account)).status_code == 401
        assert rest.post("/api/auth/refresh",
                         json={"refresh_token": account["refresh_token"]}).status_code == 401

    def test_change_password_signs_out_other_sessions(self, rest: httpx.Client) -> None:
        account = register(rest, "candidate")
        email = account["user"]["email"]
        other = rest.post("/api/auth/login", json={"email": email, "password": STRONG_PASSWORD}).json()
        new_password = "N3w!Str0ng-Phrase"
        changed = rest.post("/api/auth/change-password", headers=bearer(account), json={
            "current_password": STRONG_PASSWORD, "new_password": new_password})
        assert changed.status_code == 200, changed.text
        assert rest.get("/api/auth/me", headers=bearer(account)).status_code == 200
        assert rest.get("/api/auth/me", headers=bearer(other)).status_code == 401
        assert rest.post("/api/auth/login",
                         json={"email": email, "password": new_password}).status_code == 200


class TestRoles:
    def test_candidate_calling_a_company_only_rpc_is_403(self, rest: httpx.Client) -> None:
        candidate = register(rest, "candidate")
        response = rest.post("/api/companies", headers=bearer(candidate), json={
            "name": "Acme", "description": "x", "industry": "tech", "company_size": "1-10",
            "website": "https://acme.example"})
        assert response.status_code == 403
        assert response.json()["code"] == 7

    def test_company_user_passes_the_role_check(self, rest: httpx.Client) -> None:
        company = register(rest, "company")
        response = rest.get("/api/candidates", headers=bearer(company))
        assert response.status_code == 200

    def test_public_route_needs_no_token(self, rest: httpx.Client) -> None:
        assert rest.get("/api/notifications/types").status_code != 401


class TestMailFlows:
    def test_reset_password_mail_arrives_and_its_link_works_once(
            self, rest: httpx.Client, mailbox: MailBox) -> None:
        account = register(rest, "candidate")
        email = account["user"]["email"]
        unknown = rest.post("/api/auth/forgot-password", json={"email": unique_email()})
        response = rest.post("/api/auth/forgot-password", json={"email": email})
        assert response.status_code == unknown.status_code == 200
        assert response.json() == unknown.json(), "same answer whether the account exists"
        mails = [m for m in mailbox.wait_for(email, count=2)
                 if m["Subject"] == "Reset your HotGigs password"]
        assert len(mails) == 1
        body = mails[0].get_payload(decode=True).decode()
        token = re.search(r"reset-password\?token=([\w-]+)", body)
        assert token is not None
        new_password = "R3set!Phrase-Good"
        reset = rest.post("/api/auth/reset-password",
                          json={"token": token.group(1), "new_password": new_password})
        assert reset.status_code == 200, reset.text
        again = rest.post("/api/auth/reset-password",
                          json={"token": token.group(1), "new_password": "An0ther!Phrase-X"})
        assert again.status_code == 400
        assert rest.post("/api/auth/login",
                         json={"email": email, "password": new_password}).status_code == 200
        assert rest.get("/api/auth/me", headers=bearer(account)).status_code == 401, \
            "a reset signs out every session"

    @staticmethod
    def _reset_links(rest: httpx.Client, mailbox: MailBox, email: str, count: int) -> list[str]:
        for _ in range(count):
            assert rest.post("/api/auth/forgot-password", json={"email": email}).status_code == 200
        mails = [m for m in mailbox.wait_for(email, count=count + 1)
                 if m["Subject"] == "Reset your HotGigs password"]
        tokens = [re.search(r"reset-password\?token=([\w-]+)", m.get_payload(decode=True).decode())
                  for m in mails]
        return [t.group(1) for t in tokens if t is not None]

    def test_using_one_reset_link_spends_the_older_ones(
            self, rest: httpx.Client, mailbox: MailBox) -> None:
        """Issue 12 item 12: an older reset token still worked after a newer one was used."""
        email = register(rest, "candidate")["user"]["email"]
        older, newer = self._reset_links(rest, mailbox, email, 2)
        assert rest.post("/api/auth/reset-password",
                         json={"token": newer, "new_password": "R3set!Phrase-Good"}
                         ).status_code == 200
        stale = rest.post("/api/auth/reset-password",
                          json={"token": older, "new_password": "An0ther!Phrase-X"})
        assert stale.status_code == 400
        assert "invalid, expired or already used" in stale.json()["message"]
        assert rest.post("/api/auth/login", json={"email": email, "password": "R3set!Phrase-Good"}
                         ).status_code == 200

    def test_changing_the_password_spends_outstanding_reset_links(
            self, rest: httpx.Client, mailbox: MailBox) -> None:
        account = register(rest, "candidate")
        [link] = self._reset_links(rest, mailbox, account["user"]["email"], 1)
        changed = rest.post("/api/auth/change-password", headers=bearer(account),
                            json={"current_password": STRONG_PASSWORD,
                                  "new_password": "Ch4nged!Phrase-Q"})
        assert changed.status_code == 200, changed.text
        assert rest.post("/api/auth/reset-password",
                         json={"token": link, "new_password": "An0ther!Phrase-X"}
                         ).status_code == 400

    def test_verify_email_link_works_once(self, rest: httpx.Client, mailbox: MailBox) -> None:
        account = register(rest, "company")
        email = account["user"]["email"]
        mail = next(m for m in mailbox.wait_for(email)
                    if m["Subject"] == "Confirm your HotGigs e-mail address")
        link = re.search(r"https?://\S+/api/auth/verify-email/([\w-]+)",
                         mail.get_payload(decode=True).decode())
        assert link is not None
        assert rest.get(f"/api/auth/verify-email/{link.group(1)}").status_code == 200
        me = rest.get("/api/auth/me", headers=bearer(account)).json()
        assert me["user"]["is_verified"] is True
        assert rest.get(f"/api/auth/verify-email/{link.group(1)}").status_code == 400
        assert rest.get(f"/api/auth/verify-email/{uuid.uuid4().hex}").status_code == 400


class TestEdgeHeaders:
    def test_security_headers_on_rest_responses(self, rest: httpx.Client) -> None:
        for response in (rest.get("/api/health"), rest.get("/api/nonexistent"),
                         rest.get("/api/auth/me")):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
