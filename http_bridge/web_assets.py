"""The browser front end (`web/`) as the edge serves it: `index.html` (never cached) names its
assets under `/static/<version>/`, where the version is a hash of every file, so assets are
cached for a year and a release changes their URL. Envoy serves them from its config
(`make run`, the tests); `python -m http_bridge.web_assets OUT` writes the same tree for nginx.
"""

from __future__ import annotations

import argparse
import hashlib
import mimetypes
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB_ROOT = ROOT / "web"
VERSION_MARK = "{{VERSION}}"  # in index.html: replaced by the asset version
STATIC_PREFIX = "/static/"
# No inline script or style anywhere: the page and its modules, its own API, nothing else.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'")
INDEX_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"
_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json"}


def assets(web_root: Path = WEB_ROOT) -> list[Path]:
    """Every file the page loads besides index.html, sorted."""
    return sorted(path for path in web_root.rglob("*")
                  if path.is_file() and path.name != "index.html" and not path.name.startswith("."))


def version(web_root: Path = WEB_ROOT) -> str:
    digest = hashlib.sha256()
    for path in [web_root / "index.html", *assets(web_root)]:
        digest.update(path.relative_to(web_root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def index_html(web_root: Path = WEB_ROOT) -> str:
    return (web_root / "index.html").read_text().replace(VERSION_MARK, version(web_root))


def content_type(path: Path) -> str:
    return _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def asset_url(path: Path, web_root: Path = WEB_ROOT) -> str:
    return f"{STATIC_PREFIX}{version(web_root)}/{path.relative_to(web_root).as_posix()}"


def export(out: Path, web_root: Path = WEB_ROOT) -> Path:
    """index.html and static/<version>/... under `out`, as nginx's static root."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text(index_html(web_root))
    for path in assets(web_root):
        target = out / asset_url(path, web_root).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="directory to write (nginx's static root)")
    export(parser.parse_args(argv).out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
