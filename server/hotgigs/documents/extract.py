"""Text extraction from PDF and DOCX with budgets, run in a child process (see `sandbox`).

`python -I -m hotgigs.documents.extract FORMAT` reads the file on stdin, limits its own memory
and CPU time before reading a byte, and writes one JSON line: `{"text": "..."}`, or
`{"error": "bad" | "too_complex", "description": "..."}`. A DOCX is unzipped and parsed as a
stream (expat) within the budgets below, so a small archive of millions of elements is refused
after reading at most the budget, never built as a tree.
"""

from __future__ import annotations

import io
import json
import resource
import sys
import zipfile
from xml.parsers import expat

MEMORY_BYTES = 256 * 1024 * 1024  # RLIMIT_AS of the child
CPU_SECONDS = 5  # RLIMIT_CPU of the child
MAX_UNZIPPED = 64 * 1024 * 1024  # every member of a DOCX together, as the ZIP declares them
MAX_DOCUMENT_XML = 16 * 1024 * 1024  # word/document.xml as read (not as declared)
MAX_ELEMENTS = 500_000
MAX_PDF_PAGES = 500
MAX_TEXT = 200_000  # characters kept; more text is read but not stored
_CHUNK = 64 * 1024
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


class Refused(Exception):
    """The file cannot be read: `kind` is "bad" (damaged, wrong type) or "too_complex"."""

    def __init__(self, kind: str, description: str) -> None:
        super().__init__(description)
        self.kind = kind
        self.description = description


class _DocxText:
    """Collects the text of <w:t> elements, a line per <w:p>, counting elements."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.elements = 0
        self.in_text = False

    def start(self, name: str, attributes: object) -> None:
        del attributes
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise Refused("too_complex", f"the document has more than {MAX_ELEMENTS} elements")
        self.in_text = name == f"{_W} t"

    def end(self, name: str) -> None:
        self.in_text = False
        if name == f"{_W} p":
            self._add("\n")

    def characters(self, data: str) -> None:
        if self.in_text:
            self._add(data)

    def _add(self, data: str) -> None:
        if self.size < MAX_TEXT:
            self.parts.append(data)
            self.size += len(data)


def _refuse_dtd(*_: object) -> None:
    raise Refused("bad", "the DOCX declares a DTD or entities")


def docx_text(content: bytes) -> str:
    if not content.startswith(b"PK\x03\x04"):
        raise Refused("bad", "the content is not a DOCX (ZIP) file")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED:
                raise Refused("too_complex", "the DOCX unpacks to more than 64 MB")
            try:
                member = archive.getinfo("word/document.xml")
            except KeyError:
                raise Refused("bad", "the ZIP file is not a Word document") from None
            if member.file_size > MAX_DOCUMENT_XML:
                raise Refused("too_complex", "the document text is larger than 16 MB")
            collector = _DocxText()
            parser = expat.ParserCreate(namespace_separator=" ")
            parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
            parser.StartElementHandler = collector.start
            parser.EndElementHandler = collector.end
            parser.CharacterDataHandler = collector.characters
            parser.StartDoctypeDeclHandler = _refuse_dtd
            parser.EntityDeclHandler = _refuse_dtd
            read = 0
            with archive.open(member) as stream:
                while chunk := stream.read(_CHUNK):
                    read += len(chunk)
                    if read > MAX_DOCUMENT_XML:  # the ZIP header may lie about the size
                        raise Refused("too_complex", "the document text is larger than 16 MB")
                    parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile):
        raise Refused("bad", "the DOCX is damaged or truncated") from None
    except expat.ExpatError:
        raise Refused("bad", "the DOCX is damaged") from None
    return "".join(collector.parts)


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader  # imported here: a DOCX child never loads it
    from pypdf.errors import PdfReadError

    if not content.startswith(b"%PDF-"):
        raise Refused("bad", "the content is not a PDF")
    if b"%%EOF" not in content[-2048:]:
        raise Refused("bad", "the PDF is truncated (no end-of-file marker)")
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if len(reader.pages) > MAX_PDF_PAGES:
            raise Refused("too_complex", f"the PDF has more than {MAX_PDF_PAGES} pages")
        parts: list[str] = []
        size = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text)
            if size >= MAX_TEXT:
                break
        return "\n".join(parts)
    except Refused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError,
            IndexError, RecursionError) as error:
        raise Refused("bad", f"the PDF is damaged ({type(error).__name__})") from None


EXTRACTORS = {"pdf": pdf_text, "docx": docx_text}


def limit_self() -> None:
    """Memory and CPU limits of this process (the kernel enforces them)."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def main(argv: list[str]) -> int:
    limit_self()
    extractor = EXTRACTORS.get(argv[1] if len(argv) > 1 else "")
    if extractor is None:
        print(json.dumps({"error": "bad", "description": "unknown format"}))
        return 2
    content = sys.stdin.buffer.read()
    try:
        answer: dict[str, str] = {"text": extractor(content)[:MAX_TEXT]}
    except Refused as refused:
        answer = {"error": refused.kind, "description": refused.description}
    except MemoryError:
        answer = {"error": "too_complex", "description": "the document needs too much memory"}
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
