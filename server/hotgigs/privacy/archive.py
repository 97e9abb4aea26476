"""The export archive, written as a stream: a zip whose parts leave as soon as they are made.

`chunks` yields the archive in pieces of about CHUNK_BYTES: the JSON files first, then each
document's file, read one at a time (`read_document`) and written in slices, so memory holds
one document and one chunk, never the whole archive. The zip uses data descriptors (no seeking
back), as `zipfile` does on a stream that cannot seek.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

CHUNK_BYTES = 256 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclasses.dataclass(frozen=True)
class DocumentFile:
    """A document to put in the archive: its id and file name."""

    id: int
    filename: str

    @property
    def path(self) -> str:
        name = _UNSAFE.sub("_", self.filename).strip("._")[:100] or "file"
        return f"documents/{self.id}-{name}"


class _Sink(io.RawIOBase):
    """A write-only stream that keeps what was written until `take()`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._size += len(chunk)
        return len(chunk)

    def pending(self) -> int:
        return sum(len(part) for part in self._parts)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def chunks(files: dict[str, Any], documents: list[DocumentFile],
           read_document: Callable[[int], bytes | None]) -> Iterator[bytes]:
    """The archive: `files` as `<name>.json`, then each document's bytes (a document gone
    meanwhile is left out), then the zip's directory."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{name}.json", json.dumps(content, indent=2, ensure_ascii=False,
                                                         default=str))
            if sink.pending() >= CHUNK_BYTES:
                yield sink.take()
        for document in documents:
            data = read_document(document.id)
            if data is None:
                continue
            with archive.open(document.path, mode="w", force_zip64=True) as member:
                view = memoryview(data)
                for start in range(0, len(view), CHUNK_BYTES):
                    member.write(view[start:start + CHUNK_BYTES])
                    if sink.pending() >= CHUNK_BYTES:
                        yield sink.take()
            del data, view
    tail = sink.take()
    if tail:
        yield tail
