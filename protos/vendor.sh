#!/bin/sh
# Copy google/api/*.proto (annotations, http, httpbody, ...) from the venv's
# googleapis-common-protos into build/proto-deps/, so `buf lint` resolves the googleapis
# imports of protos/ offline (buf cannot fetch BSR dependencies here). build/ is git-ignored;
# buf.yaml lists build/proto-deps as a second module that is excluded from lint.
#
# Usage: sh protos/vendor.sh   (PYTHON=/path/to/python overrides the interpreter)
set -eu

root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
python=${PYTHON:-"$root/.venv/bin/python"}

src=$("$python" - <<'PY'
import importlib.util
import pathlib
import sys

spec = importlib.util.find_spec("google.api")
paths = [pathlib.Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
hits = [p for p in paths if (p / "annotations.proto").is_file()]
if not hits:
    sys.exit("google/api/annotations.proto not found: install googleapis-common-protos")
print(hits[0])
PY
)

dest="$root/build/proto-deps/google/api"
rm -rf "$dest"
mkdir -p "$dest"
cp "$src"/*.proto "$dest"/
