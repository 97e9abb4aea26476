"""The alert receivers of the deploy test: an SMTP server (aiosmtpd) and a webhook server, on
127.0.0.1 of the network namespace they are started in (`ip netns exec hgt0 python -m
tests.deploy.alert_receivers FOLDER`: the monitoring host's loopback, which its container
shares). Every mail and webhook call becomes one JSON line in FOLDER/mail.jsonl or
FOLDER/webhook.jsonl with the time it arrived, for the test to read from outside. With
ALERT_RECEIVERS_SMTP_PASSWORD set, the SMTP server refuses mail until the client logs in with
that password (AUTH LOGIN/PLAIN, plaintext on loopback); the login is recorded with each mail.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

SMTP_PORT = 2525
HTTP_PORT = 9099


class _Log:
    """Appends JSON lines to a file, one writer at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()

    def write(self, entry: dict[str, Any]) -> None:
        with self.lock, self.path.open("a") as out:
            out.write(json.dumps({"received": time.time(), **entry}) + "\n")


class _MailHandler:
    def __init__(self, log: _Log) -> None:
        self.log = log

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.log.write({"to": list(envelope.rcpt_tos), "subject": str(message["Subject"]), "login": login})
        return "250 OK"


class _SMTP(SMTP):
    """aiosmtpd asks for LOGIN's user name with "User Name"; clients such as Alertmanager's
    only answer the customary "Username:" (anything else fails their AUTH)."""

    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _SMTP(self.handler, **self.SMTP_kwargs)


def _authenticator(password: str) -> Any:
    """Accepts any login with `password` (the one the deploy put in Alertmanager's config)."""
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
    return authenticate


def _webhook_server(log: _Log) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            payload = json.loads(body or b"{}")
            names = [alert.get("labels", {}).get("alertname") for alert in payload.get("alerts", [])]
            log.write({"path": self.path, "status": payload.get("status"), "alerts": names})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", HTTP_PORT), Handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="where mail.jsonl and webhook.jsonl are written")
    folder = parser.parse_args(argv).folder
    folder.mkdir(parents=True, exist_ok=True)
    password = os.environ.get("ALERT_RECEIVERS_SMTP_PASSWORD", "")
    auth: dict[str, Any] = ({"authenticator": _authenticator(password), "auth_required": True,
                             "auth_require_tls": False} if password else {})
    smtp = _Controller(_MailHandler(_Log(folder / "mail.jsonl")), hostname="127.0.0.1", port=SMTP_PORT,
                      **auth)
    smtp.start()
    http = _webhook_server(_Log(folder / "webhook.jsonl"))
    threading.Thread(target=http.serve_forever, daemon=True).start()
    (folder / "ready").write_text("ready\n")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while not stop.wait(1):
        pass
    http.shutdown()
    smtp.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
