"""`hotgigs verify --url URL`: post-deployment checks, like the original's three scripts.

  integration  the original integration flow: register, login, profile, job search, company,
               job, applications, companies; then a candidate applies and the company moves the
               application to interviewing, and the candidate sees it
  performance  latencies against the seed's targets: health < 50 ms, search < 300 ms,
               cached search < 100 ms (p95 of a few requests)
  security     TLS 1.2+ and HSTS (for https URLs), security headers, authentication failures
               (no token, forged token, alg none, SQL injection), rate limiting (429 with
               Retry-After on a burst of forgot-password calls)

It creates throw-away accounts (e-mails under verify.hotgigs.invalid). Exit status 0 when every
check passes, 1 otherwise.
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
import uuid
from collections.abc import Callable
from typing import Any

import httpx

PASSWORD = "Verify!Deploy-" + "9q"
DESCRIPTION = "A verification job posted by hotgigs verify to check a fresh deployment."


@dataclasses.dataclass
class Check:
    suite: str
    name: str
    ok: bool
    detail: str = ""


class Verifier:
    def __init__(self, client: httpx.Client, *, rate_limit_probes: int) -> None:
        self.client = client
        self.rate_limit_probes = rate_limit_probes
        self.checks: list[Check] = []

    def record(self, suite: str, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(suite, name, ok, detail))
        return ok

    def expect(self, suite: str, name: str, response: httpx.Response, status: int) -> bool:
        return self.record(suite, name, response.status_code == status,
                           f"HTTP {response.status_code}" + (
                               "" if response.status_code == status else f" (wanted {status})"))

    def _register(self, user_type: str) -> dict[str, Any]:
        email = f"verify-{user_type}-{uuid.uuid4().hex[:10]}@verify.hotgigs.invalid"
        response = self.client.post("/api/auth/register", json={
            "email": email, "password": PASSWORD, "first_name": "Verify",
            "last_name": user_type.title(), "user_type": user_type})
        self.expect("integration", f"register a {user_type} user", response, 201)
        body: dict[str, Any] = response.json() if response.status_code == 201 else {}
        body["email"] = email
        return body

    @staticmethod
    def bearer(account: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {account.get('access_token', '')}"}

    # ---- suites ---------------------------------------------------------------------------
    def integration(self) -> None:
        suite = "integration"
        company = self._register("company")
        login = self.client.post("/api/auth/login",
                                 json={"email": company["email"], "password": PASSWORD})
        if not self.expect(suite, "login", login, 200):
            return
        auth = self.bearer(login.json())
        self.expect(suite, "GET /api/users/profile",
                    self.client.get("/api/users/profile", headers=auth), 200)
        self.expect(suite, "GET /api/jobs/?search=software",
                    self.client.get("/api/jobs/", params={"search": "software"}), 200)
        created = self.client.post("/api/companies", headers=auth, json={
            "name": f"Verify Co {uuid.uuid4().hex[:6]}", "industry": "Technology"})
        if not self.expect(suite, "POST /api/companies", created, 201):
            return
        job = self.client.post("/api/jobs", headers=auth, json={
            "company_id": created.json()["company"]["id"], "title": "Verification Engineer",
            "description": DESCRIPTION, "requirements": "Checks deployments carefully.",
            "employment_type": "full-time", "experience_level": "mid",
            "salary_min": 50000, "salary_max": 60000, "skills_required": ["python"]})
        if not self.expect(suite, "POST /api/jobs", job, 201):
            return
        job_id = job.json()["job"]["id"]
        self.expect(suite, "publish the job", self.client.post(
            f"/api/jobs/{job_id}/publish", headers=auth, json={}), 200)
        self.expect(suite, "GET /api/applications",
                    self.client.get("/api/applications", headers=auth), 200)
        self.expect(suite, "GET /api/companies", self.client.get("/api/companies", headers=auth),
                    200)
        candidate = self._register("candidate")
        applied = self.client.post("/api/applications", headers=self.bearer(candidate),
                                   json={"job_id": job_id})
        if not self.expect(suite, "a candidate applies", applied, 201):
            return
        app_id = applied.json()["application"]["id"]
        self.expect(suite, "the company moves it to interviewing", self.client.put(
            f"/api/applications/{app_id}", headers=auth, json={"status": "interviewing"}), 200)
        seen = self.client.get(f"/api/applications/{app_id}", headers=self.bearer(candidate))
        status = seen.json().get("application", {}).get("status") if seen.status_code == 200 else None
        self.record(suite, "the candidate sees interviewing", status == "interviewing",
                    f"status {status}")
        self.client.delete(f"/api/jobs/{job_id}", headers=auth)  # close the verification job

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
    with httpx.Client(base_url=args.url.rstrip("/"), timeout=15, verify=context) as client:
        verifier = Verifier(client, rate_limit_probes=args.rate_limit_probes)
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
