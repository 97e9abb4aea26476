"""A local nginx edge from the deployment's own site template (deploy/nginx/hotgigs.conf.j2).

Renders the template exactly as the Ansible nginx role does, wraps it in a self-contained main
config (pid, logs, temp folders under one folder) and runs the Debian nginx in the foreground.
Used by the TLS end-to-end tests and by `make bench`; production uses the Ansible role.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import jinja2

from hotgigs.dev.embedded import EmbeddedServerError, free_port, wait_for_port
from http_bridge import web_assets
from http_bridge.envoy_config import MAX_UPLOAD_REQUEST_BYTES

# nginx lets through the largest upload Envoy accepts (a 16 MB file as base64 JSON); Envoy
# then holds every other route to its own 1 MiB limit. The Ansible nginx role uses the same.
NGINX_MAX_BODY_SIZE = f"{-(-MAX_UPLOAD_REQUEST_BYTES // 2**20)}m"

TEMPLATE = Path(__file__).resolve().parents[3] / "deploy" / "nginx" / "hotgigs.conf.j2"


@dataclasses.dataclass(frozen=True)
class Edge:
    http_url: str
    https_url: str
    certificate: Path


def make_certificate(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate and key for `host` (an IP address), valid two days."""
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",  # noqa: S603,S607 - Debian openssl
                    "-subj", f"/CN={host}", "-addext", f"subjectAltName=IP:{host}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def render(folder: Path, *, envoy_upstreams: Sequence[str], http_port: int, https_port: int,
           certificate: Path, key: Path, static_root: Path, worker_processes: int | str = 1,
           worker_connections: int = 256, access_log: bool = True) -> Path:
    """Write site.conf (the deploy template) and nginx.conf (a main config around it)."""
    site = jinja2.Template(TEMPLATE.read_text(), undefined=jinja2.StrictUndefined).render(
        nginx_server_name="127.0.0.1", nginx_http_port=http_port, nginx_https_port=https_port,
        nginx_tls_certificate=certificate, nginx_tls_certificate_key=key,
        nginx_ocsp_stapling=False, nginx_envoy_upstreams=list(envoy_upstreams),
        nginx_static_root=static_root, nginx_max_body_size=NGINX_MAX_BODY_SIZE,
        nginx_cache_dir=folder / "cache",
        nginx_listen_prefix="127.0.0.1:")  # loopback only; the deployed site listens on every address
    (folder / "site.conf").write_text(site)
    main = folder / "nginx.conf"
    access = f"{folder}/access.log" if access_log else "off"
    main.write_text(f"""user root;
worker_processes {worker_processes};
worker_rlimit_nofile {worker_connections * 2 + 64};
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections {worker_connections}; }}
http {{
    include /etc/nginx/mime.types;
    access_log {access};
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
""")
    return main


def check(config: Path) -> None:
    """`nginx -t`: raise with nginx's own words when the config is refused."""
    result = subprocess.run([_nginx(), "-t", "-c", str(config)], capture_output=True,  # noqa: S603 - our binary, our arguments
                            text=True, check=False)
    if result.returncode != 0:
        raise EmbeddedServerError(f"nginx -t refused {config}:\n{result.stderr.strip()}")


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise EmbeddedServerError("nginx is not installed: run `make setup` (Debian package nginx)")
    return found


# A port free_port chose may be taken by another process before nginx binds it (nginx then
# exits): choose new ports and start again, at most this many times.
BIND_ATTEMPTS = 3


def _serving(process: subprocess.Popen[bytes], pid_file: Path) -> bool:
    """Whether nginx bound all its ports: it writes its pid file only after that. False once it
    has exited (a bind failed after nginx's own retries)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if pid_file.exists():
            return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def nginx(folder: Path, envoy_upstreams: Sequence[str], *, tls: tuple[Path, Path] | None = None,
          **options: int | str | bool) -> Iterator[Edge]:
    """Render, check and run nginx in front of `envoy_upstreams` (host:port); stop it on exit.
    The front end (web/, http_bridge.web_assets) is written under `folder`/static, plus one
    unversioned asset the tests use.
    `tls` is (certificate chain, key) to serve; by default a self-signed one for 127.0.0.1."""
    folder = folder.resolve()  # nginx reads relative paths from its own prefix
    folder.mkdir(parents=True, exist_ok=True)
    static = web_assets.export(folder / "static")
    (static / "assets").mkdir(parents=True, exist_ok=True)
    (static / "assets" / "app.3f9a.js").write_text("console.log('hotgigs')")
    certificate, key = tls or make_certificate(folder)
    for attempt in range(BIND_ATTEMPTS):
        http_port, https_port = free_port(), free_port()
        config = render(folder, envoy_upstreams=envoy_upstreams, http_port=http_port,
                        https_port=https_port, certificate=certificate, key=key, static_root=static,
                        **options)  # type: ignore[arg-type]
        check(config)
        (folder / "nginx.pid").unlink(missing_ok=True)
        process = subprocess.Popen([_nginx(), "-c", str(config), "-g", "daemon off;"])  # noqa: S603 - our binary, our arguments
        if _serving(process, folder / "nginx.pid") or attempt == BIND_ATTEMPTS - 1:
            break
    try:
        wait_for_port("127.0.0.1", https_port, 15, "nginx")
        yield Edge(f"http://127.0.0.1:{http_port}", f"https://127.0.0.1:{https_port}", certificate)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
