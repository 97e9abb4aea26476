"""The nginx site template of deploy/, rendered as Ansible would and run by the real nginx
(Debian) in front of the real Envoy: HTTPS end to end, redirects, headers, static files."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import jinja2
import pytest

from hotgigs.embedded import free_port, wait_for_port
from tests.conftest import RunningEnvoy

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "hotgigs.conf.j2"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class Site:
    def __init__(self, http_port: int, https_port: int, cert: Path) -> None:
        self.http = f"http://127.0.0.1:{http_port}"
        self.https = f"https://127.0.0.1:{https_port}"
        self.cert = cert

    def client(self, **kwargs: object) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.cert))
        return httpx.Client(verify=context, timeout=10, **kwargs)  # type: ignore[arg-type]


def render(folder: Path, envoy: RunningEnvoy, http_port: int, https_port: int,
           cert: Path, key: Path, static: Path) -> Path:
    site = jinja2.Template(TEMPLATE.read_text(), undefined=jinja2.StrictUndefined).render(
        nginx_server_name="127.0.0.1", nginx_http_port=http_port, nginx_https_port=https_port,
        nginx_tls_certificate=cert, nginx_tls_certificate_key=key, nginx_ocsp_stapling=False,
        nginx_envoy_upstreams=[envoy.base_url.removeprefix("http://")],
        nginx_static_root=static, nginx_max_body_size="17m", nginx_cache_dir=folder / "cache")
    (folder / "site.conf").write_text(site)
    main = folder / "nginx.conf"
    main.write_text(f"""user root;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
""")
    return main


@pytest.fixture(scope="session", name="site")
def site_fixture(envoy: RunningEnvoy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("nginx")
    static = folder / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><title>HotGigs</title>")
    (static / "assets" / "app.3f9a.js").write_text("console.log('hotgigs')")
    cert, key = make_certificate(folder)
    http_port, https_port = free_port(), free_port()
    config = render(folder, envoy, http_port, https_port, cert, key, static)
    test = subprocess.run(["nginx", "-t", "-c", str(config)], capture_output=True, text=True,
                          check=False)
    assert test.returncode == 0, test.stderr
    process = subprocess.Popen(["nginx", "-c", str(config), "-g", "daemon off;"])
    try:
        wait_for_port("127.0.0.1", https_port, 15, "nginx")
        yield Site(http_port, https_port, cert)
    finally:
        process.terminate()
        process.wait(15)


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
