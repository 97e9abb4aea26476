"""`hotgigs verify --url URL`: post-deployment checks, like the original's three scripts.

  integration  read-only checks plus one write that it deletes: public job search, then the
               verification account (a candidate, --account, created by the first run only)
               signs in, reads its profile, applications and itself (auth/me), adds a work-
               experience entry to its own profile, sees it, deletes it, sees it gone, and
               signs out (its session revoked)
  performance  latencies against the seed's targets: health < 50 ms, search < 300 ms,
               cached search < 100 ms (p95 of a few requests)
  security     TLS 1.2+ and HSTS (for https URLs), security headers, authentication failures
               (no token, forged token, alg none, SQL injection), rate limiting (429 with
               Retry-After on a burst of forgot-password calls)

Production data is left as it was: no users, companies, jobs or applications per run. The one
account it keeps is the verification account (default verify@verify.hotgigs.invalid; its
password from --password-file, e.g. the vault's), registered once when it does not exist yet.
Exit status 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import ssl
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ACCOUNT = "verify@verify.hotgigs.invalid"
EMPLOYER = "HotGigs deployment verification"  # the entry it adds and deletes


@dataclasses.dataclass
class Check:
    suite: str
    name: str
    ok: bool
    detail: str = ""


class Verifier:
    def __init__(self, client: httpx.Client, *, rate_limit_probes: int, account: str = ACCOUNT,
                 password: str | None = None) -> None:
        self.client = client
        self.rate_limit_probes = rate_limit_probes
        self.account = account
        self.password = password
        self.checks: list[Check] = []

    def record(self, suite: str, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(suite, name, ok, detail))
        return ok

    def expect(self, suite: str, name: str, response: httpx.Response, status: int) -> bool:
        return self.record(suite, name, response.status_code == status,
                           f"HTTP {response.status_code}" + (
                               "" if response.status_code == status else f" (wanted {status})"))

    @staticmethod
    def _error(response: httpx.Response) -> str:
        """The API's own message for a refused request (never a password: none is echoed)."""
        try:
            body = response.json()
        except ValueError:
            return ""
        detail = body.get("message") if isinstance(body, dict) else None  # {"code": .., "message": ..}
        return f": {str(detail)[:300]}" if detail else ""

    def _sign_in(self) -> dict[str, Any] | None:
        """Sign in as the verification account; register it first when it does not exist (the
        first run against a fresh database). None (with the reason recorded) when neither works."""
        suite = "integration"
        if not self.password:
            self.record(suite, "the verification account's password", False,
                        "no --password-file (the vault's hotgigs_verify_password)")
            return None
        credentials = {"email": self.account, "password": self.password}
        login = self.client.post("/api/auth/login", json=credentials)
        if login.status_code == 401:  # unknown account (or a wrong password: registration says)
            registered = self.client.post("/api/auth/register", json={
                **credentials, "first_name": "Deployment", "last_name": "Verification",
                "user_type": "candidate"})
            if registered.status_code == 409:
                self.record(suite, "sign in as the verification account", False,
                            f"{self.account} exists but refuses this password (check the vault's "
                            "hotgigs_verify_password)")
                return None
            if not self.expect(suite, "register the verification account (first run only)", registered, 201):
                self.checks[-1].detail += self._error(registered)
                return None
            signed_up: dict[str, Any] = registered.json()  # signed in: its session is the one used
            return signed_up
        if not self.expect(suite, "sign in as the verification account", login, 200):
            self.checks[-1].detail += self._error(login)
            return None
        tokens: dict[str, Any] = login.json()
        return tokens

    @staticmethod
    def bearer(account: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {account.get('access_token', '')}"}

    # ---- suites ---------------------------------------------------------------------------
    def integration(self) -> None:
        suite = "integration"
        self.expect(suite, "GET /api/jobs/?search=software",
                    self.client.get("/api/jobs/", params={"search": "software"}), 200)
        tokens = self._sign_in()
        if tokens is None:
            return
        auth = self.bearer(tokens)
        try:
            self._as_the_account(suite, auth)
        finally:
            self.expect(suite, "sign out (the session is revoked)", self.client.post(
                "/api/auth/logout", headers=auth, json={"refresh_token": tokens.get("refresh_token", "")}),
                200)

    def _as_the_account(self, suite: str, auth: dict[str, str]) -> None:
        profile = self.client.get("/api/users/profile", headers=auth)
        if not self.expect(suite, "GET /api/users/profile", profile, 200):
            return
        user = profile.json().get("user", {})
        if not self.record(suite, "the account is the candidate verification account",
                           user.get("email") == self.account and user.get("user_type") == "candidate",
                           f"{user.get('email')} ({user.get('user_type')})"):
            return
        self.expect(suite, "GET /api/applications", self.client.get("/api/applications", headers=auth), 200)
        self.expect(suite, "GET /api/auth/me", self.client.get("/api/auth/me", headers=auth), 200)
        # The one write: an entry on the account's own profile, deleted again below.
        added = self.client.post("/api/users/experience", headers=auth, json={
            "company_name": EMPLOYER, "job_title": "Verification", "start_date": "2020-01-01",
            "is_current": True})
        if not self.expect(suite, "add an experience entry (the one write)", added, 201):
            return
        entry = added.json()["experience"]["id"]
        try:
            self.record(suite, "the profile shows the entry", entry in self._entries(auth))
        finally:
            self.expect(suite, "delete the entry again", self.client.delete(
                f"/api/users/experience/{entry}", headers=auth), 200)
        self.record(suite, "the profile no longer shows it", entry not in self._entries(auth))

    def _entries(self, auth: dict[str, str]) -> list[int]:
        response = self.client.get("/api/users/profile", headers=auth)
        return [item.get("id") for item in response.json().get("work_experiences", [])] \
            if response.status_code == 200 else []

    def _p95(self, request: Callable[[int], httpx.Response], count: int) -> tuple[float, bool]:
        timings, ok = [], True
        for number in range(count):
            started = time.perf_counter()
            response = request(number)
            timings.append((time.perf_counter() - started) * 1000)
            ok = ok and response.status_code == 200
        return (statistics.quantiles(timings, n=20)[18] if len(timings) > 1 else timings[0]), ok

    def performance(self) -> None:
        suite = "performance"
        cases: list[tuple[str, Callable[[int], httpx.Response], float]] = [
            ("health p95 < 50 ms", lambda n: self.client.get("/api/health"), 50),
            ("job search p95 < 300 ms", lambda n: self.client.get(
                "/api/jobs", params={"search": f"engineer {n}", "offset": n}), 300),
            ("cached job search p95 < 100 ms", lambda n: self.client.get(
                "/api/jobs", params={"search": "engineer"}), 100),
        ]
        for name, request, target in cases:
            p95, ok = self._p95(request, 20)
            self.record(suite, name, ok and p95 < target, f"p95 {p95:.1f} ms")

    def security(self, https: bool) -> None:
        suite = "security"
        health = self.client.get("/api/health")
        if https:
            version = health.extensions.get("network_stream")
            tls = version.get_extra_info("ssl_object").version() if version else "?"
            self.record(suite, "TLS 1.2 or newer", tls in ("TLSv1.2", "TLSv1.3"), str(tls))
            self.record(suite, "HSTS header", "strict-transport-security" in health.headers,
                        health.headers.get("strict-transport-security", "missing"))
        for header, value in (("x-content-type-options", "nosniff"), ("x-frame-options", "DENY")):
            self.record(suite, f"{header} header", health.headers.get(header) == value,
                        health.headers.get(header, "missing"))
        self.expect(suite, "no token is 401", self.client.get("/api/auth/me"), 401)
        forged = self.client.get("/api/auth/me", headers={"Authorization": "Bearer a.b.c"})
        self.expect(suite, "a forged token is 401", forged, 401)
        header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
        payload = base64.urlsafe_b64encode(json.dumps(
            {"sub": "1", "role": "admin", "typ": "access"}).encode()).rstrip(b"=").decode()
        none = self.client.get("/api/auth/me",
                               headers={"Authorization": f"Bearer {header}.{payload}."})
        self.expect(suite, "alg none is 401", none, 401)
        injection = self.client.post("/api/auth/login",
                                     json={"email": "' OR '1'='1", "password": "' OR '1'='1"})
        # 429 once earlier runs from this address used up the sign-in throttle's budget
        self.record(suite, "SQL injection does not log in", injection.status_code in (401, 429),
                    f"HTTP {injection.status_code}")
        limited = None
        for _ in range(self.rate_limit_probes):
            response = self.client.post("/api/auth/forgot-password",
                                        json={"email": "nobody@verify.hotgigs.invalid"})
            if response.status_code == 429:
                limited = response
                break
        self.record(suite, "rate limiting answers 429 with Retry-After",
                    limited is not None and "retry-after" in limited.headers,
                    "429 seen" if limited is not None else
                    f"no 429 in {self.rate_limit_probes} requests")


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system's trusted roots (as OpenSSL finds them, SSL_CERT_FILE included), plus the CA
    certificates of `ca_file` when given: a chain to a public CA verifies with or without it."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def describe(error: httpx.HTTPError) -> str:
    """Why the service could not be reached; for a refused certificate, OpenSSL's reason
    (expired, hostname mismatch, unknown issuer) in words."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate rejected: {cause.verify_message} (verify code {cause.verify_code})"
        cause = cause.__cause__ or cause.__context__
    return f"{type(error).__name__}: {error}"


def report(checks: list[Check]) -> str:
    lines = []
    for check in checks:
        lines.append(f"{'PASS' if check.ok else 'FAIL'}  {check.suite:<12} {check.name:<45} "
                     f"{check.detail}")
    passed = sum(c.ok for c in checks)
    lines.append(f"\n{passed}/{len(checks)} checks passed")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hotgigs verify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="base URL, e.g. https://hotgigs.example")
    parser.add_argument("--suites", default="integration,performance,security",
                        help="comma-separated: integration, performance, security")
    parser.add_argument("--ca-file", help="also trust the CA certificates in this PEM bundle (a "
                        "private CA's root, a self-signed staging certificate); the system's "
                        "trusted roots are always trusted")
    parser.add_argument("--rate-limit-probes", type=int, default=120,
                        help="requests to send while waiting for a 429 (default 120)")
    parser.add_argument("--account", default=ACCOUNT,
                        help=f"the verification account's e-mail (default {ACCOUNT}); a candidate, "
                             "registered by the first run")
    parser.add_argument("--password-file", type=Path,
                        help="a file holding its password (integration suite; never on the command line)")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    args = parser.parse_args(argv)
    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = set(suites) - {"integration", "performance", "security"}
    if unknown:
        parser.error(f"unknown suites: {', '.join(sorted(unknown))}")
    try:
        context = tls_context(args.ca_file)
    except (OSError, ssl.SSLError) as error:
        parser.error(f"--ca-file {args.ca_file}: {error}")
    password = None
    if args.password_file is not None:
        try:
            password = args.password_file.read_text().strip()
        except OSError as error:
            parser.error(f"--password-file {args.password_file}: {error.strerror}")
    with httpx.Client(base_url=args.url.rstrip("/"), timeout=15, verify=context) as client:
        verifier = Verifier(client, rate_limit_probes=args.rate_limit_probes, account=args.account,
                            password=password)
        try:
            for suite in suites:
                if suite == "security":
                    verifier.security(https=args.url.startswith("https://"))
                else:
                    getattr(verifier, suite)()
        except httpx.HTTPError as error:
            verifier.record("connection", "reach the service", False, describe(error))
    if args.json:
        print(json.dumps([dataclasses.asdict(c) for c in verifier.checks], indent=2))
    else:
        print(report(verifier.checks))
    return 0 if all(c.ok for c in verifier.checks) else 1


if __name__ == "__main__":
    sys.exit(main())
