"""The nginx site template of deploy/, rendered as Ansible would and run by the real nginx
(Debian) in front of the real Envoy: HTTPS end to end, redirects, headers, static files."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx

from hotgigs.dev import edge
from http_bridge import web_assets
from tests.deploy.site import Site


def test_http_redirects_to_https(site: Site) -> None:
    response = httpx.get(f"{site.http}/api/jobs?search=x", timeout=10)
    assert response.status_code == 301
    assert response.headers["location"] == f"{site.https}/api/jobs?search=x"


def test_api_through_nginx_and_envoy_over_tls(site: Site) -> None:
    with site.client() as client:
        response = client.get(f"{site.https}/api/health")
        assert response.status_code == 200
        assert response.json()["status"] == "healthy"
        assert response.headers["strict-transport-security"] == "max-age=63072000"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert client.get(f"{site.https}/api/nonexistent").status_code == 404


def test_only_tls_1_2_and_1_3(site: Site) -> None:
    for version, accepted in ((ssl.TLSVersion.TLSv1_3, True), (ssl.TLSVersion.TLSv1_2, True)):
        context = ssl.create_default_context(cafile=str(site.cert))
        context.minimum_version = context.maximum_version = version
        with httpx.Client(verify=context, timeout=10) as client:
            assert (client.get(f"{site.https}/api/health").status_code == 200) is accepted
    # SECLEVEL=0 lets this client offer TLS 1.1, so a failure is the server's refusal.
    address = site.https.removeprefix("https://")
    result = subprocess.run(["openssl", "s_client", "-connect", address, "-tls1_1",
                             "-cipher", "DEFAULT:@SECLEVEL=0"], input="", capture_output=True,
                            text=True, timeout=20, check=False)
    assert result.returncode != 0, "TLS 1.1 must be refused"
    assert "alert protocol version" in result.stderr, \
        result.stderr


def test_static_files_and_single_page_fallback(site: Site) -> None:
    with site.client() as client:
        asset = client.get(f"{site.https}/assets/app.3f9a.js")
        assert asset.status_code == 200
        assert "immutable" in asset.headers["cache-control"]
        page = client.get(f"{site.https}/jobs/42/apply")
        assert page.status_code == 200
        assert "<title>HotGigs</title>" in page.text
        assert page.headers["cache-control"] == "no-cache"
        assert client.get(f"{site.https}/assets/missing.js").status_code == 404
        module = client.get(f"{site.https}/static/{web_assets.version()}/js/app.js")
        assert module.status_code == 200
        assert "immutable" in module.headers["cache-control"]
        assert "javascript" in module.headers["content-type"]  # a module script needs it
        assert f"/static/{web_assets.version()}/js/app.js" in client.get(f"{site.https}/").text


def test_public_job_search_is_micro_cached_but_never_personal_answers(site: Site) -> None:
    with site.client() as client:
        url = f"{site.https}/api/jobs?search=microcache"
        first, second = client.get(url), client.get(url)
        assert first.status_code == second.status_code == 200
        assert first.headers["x-cache-status"] in ("MISS", "EXPIRED")
        assert second.headers["x-cache-status"] == "HIT"
        personal = client.get(url, headers={"Authorization": "Bearer anything"})
        assert personal.headers["x-cache-status"] == "BYPASS"
        health = client.get(f"{site.https}/api/health")
        assert "x-cache-status" not in health.headers, "only job search and detail are cached"


def test_a_16_mb_upload_passes_nginx_and_envoy_holds_other_routes(site: Site) -> None:
    """nginx's body limit admits Envoy's largest upload (base64 JSON); the per-route limits are
    Envoy's. Unsigned, so the upload reaches the worker and is refused there with 401."""
    body = b'{"file_content":"' + b"A" * (22 * 10**6 - 100) + b'"}'  # a 16 MB file, base64
    with site.client() as client:
        upload = client.post(f"{site.https}/api/documents", content=body,
                             headers={"content-type": "application/json"})
        assert upload.status_code == 401, upload.text[:200]
        other = client.post(f"{site.https}/api/jobs", content=body[: 2 * 2**20],
                            headers={"content-type": "application/json"})
        assert other.status_code == 413, other.text[:200]


def test_the_ansible_role_uses_the_same_body_limit() -> None:
    role = (edge.TEMPLATE.parents[2] / "ansible/roles/nginx/tasks/main.yml").read_text()
    assert f"nginx_max_body_size: {edge.NGINX_MAX_BODY_SIZE}" in role


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": web_assets.CONTENT_SECURITY_POLICY,
    "referrer-policy": "strict-origin-when-cross-origin",
}


def test_static_files_carry_the_security_headers(site: Site) -> None:
    with site.client() as client:
        for path in ("/assets/app.3f9a.js", "/jobs/42/apply", "/assets/missing.js"):
            response = client.get(f"{site.https}{path}")
            for header, value in SECURITY_HEADERS.items():
                assert response.headers.get(header) == value, (path, header, response.headers)


def test_server_header_names_no_version(site: Site) -> None:
    with site.client() as client:
        assert client.get(f"{site.https}/api/health").headers["server"] in ("nginx", "envoy")
        missing = client.get(f"{site.https}/assets/missing.js")
        assert missing.headers["server"] == "nginx"
        assert "nginx/" not in missing.text
    assert httpx.get(f"{site.http}/", timeout=10).headers["server"] == "nginx"


def test_oversized_header_is_a_json_431(site: Site) -> None:
    """A header over 16k (large_client_header_buffers 4 16k) gets 431 with a JSON body that
    names no header; a 12k header still passes."""
    with site.client() as client:
        fine = client.get(f"{site.https}/assets/app.3f9a.js", headers={"x-big": "a" * 12_000})
        assert fine.status_code == 200, fine.status_code
        for path, headers in (("/api/health", {"cookie": "session=" + "b" * 20_000}),
                              ("/assets/app.3f9a.js", {"x-internal-trace": "c" * 20_000})):
            response = client.get(f"{site.https}{path}", headers=headers)
            assert response.status_code == 431, response.text[:300]
            assert response.headers["content-type"] == "application/json"
            assert response.json() == {"code": 3, "message": "Request header or cookie too large"}


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of the TCP sockets listening on `port` (IPv4 and IPv6, from /proc)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_the_local_edge_listens_on_loopback_only(site: Site) -> None:
    for url in (site.http, site.https):
        port = httpx.URL(url).port
        assert port is not None
        assert _listening_addresses(port) == {"0100007F"}, url  # 127.0.0.1, nothing else
