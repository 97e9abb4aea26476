"""Logs never carry passwords, tokens or mailed links, even through a full auth flow."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.rest import STRONG_PASSWORD, bearer, register, unique_email
from tests.support.servers import MailBox


def test_a_full_auth_flow_leaves_no_secret_in_the_logs(
        rest: httpx.Client, mailbox: MailBox, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()  # start from a clean capture
    email = unique_email()
    account = register(rest, "candidate", email=email)
    wrong = "Wr0ng!Secret-Guess"
    rest.post("/api/auth/login", json={"email": email, "password": wrong})
    login = rest.post("/api/auth/login", json={"email": email, "password": STRONG_PASSWORD}).json()
    refreshed = rest.post("/api/auth/refresh", json={"refresh_token": login["refresh_token"]}).json()
    new_password = "N3w!Phrase-For-Logs"
    rest.post("/api/auth/change-password", headers=bearer(refreshed),
              json={"current_password": STRONG_PASSWORD, "new_password": new_password})
    rest.post("/api/auth/forgot-password", json={"email": email})
    mails = [m for m in mailbox.wait_for(email, count=2) if "reset" in m["Subject"].lower()]
    reset_token = re.search(r"token=([\w-]+)", mails[0].get_payload(decode=True).decode())
    assert reset_token is not None
    rest.post("/api/auth/reset-password", json={"token": reset_token.group(1),
                                                 "new_password": "Res3t!Phrase-Logs"})
    rest.post("/api/auth/logout", json={}, headers=bearer(refreshed))
    captured = capsys.readouterr()
    logs = captured.out + captured.err
    assert "user_logged_in" in logs, "the flow was logged at all"
    secrets = [STRONG_PASSWORD, wrong, new_password, "Res3t!Phrase-Logs", reset_token.group(1),
               account["access_token"], account["refresh_token"], login["access_token"],
               login["refresh_token"], refreshed["access_token"], refreshed["refresh_token"]]
    for secret in secrets:
        assert secret not in logs
    assert email not in logs, "log the user id, not the address"


def test_a_healthy_rest_probe_writes_no_log_line_other_answers_do(
        rest: httpx.Client, capsys: pytest.CaptureFixture[str]) -> None:
    """/api/health is polled every few seconds by uptime monitors: a healthy answer is a debug
    event (not even formatted at the default level), like gRPC's own health checks; any other
    answer keeps its canonical line."""
    capsys.readouterr()
    assert rest.get("/api/health").status_code == 200
    assert rest.get("/api/jobs/999999999").status_code == 404
    captured = capsys.readouterr()
    finished = [line for line in (captured.out + captured.err).splitlines()
                if "rpc_finished" in line]
    assert not [line for line in finished if "HealthService/GetHealth" in line], finished
    assert [line for line in finished if "JobService/GetJob" in line], "other RPCs are logged"
