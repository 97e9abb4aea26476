"""What an uploaded file really is: magic bytes must match the declared type, the structure
must be intact, and the text is extracted for matching (pdf, docx, txt).

Formats (the `DOCUMENT_ALLOWED_TYPES` setting picks from these):
  pdf   application/pdf                                                          %PDF-
  doc   application/msword                                                       OLE2 header
  docx  application/vnd.openxmlformats-officedocument.wordprocessingml.document  ZIP + word/document.xml
  txt   text/plain                                                               UTF-8, no NUL
"""

from __future__ import annotations

import dataclasses
import re

from hotgigs.documents import sandbox
from hotgigs.documents.extract import MAX_TEXT, Refused
from hotgigs.errors import FieldViolation, InvalidArgument

FORMATS: dict[str, str] = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "txt": "text/plain",
}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EXECUTABLES = (b"\x7fELF", b"MZ", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"#!")


@dataclasses.dataclass(frozen=True)
class Inspected:
    extension: str
    content_type: str
    text: str | None


def _bad(description: str) -> InvalidArgument:
    return InvalidArgument(f"The file was refused: {description}",
                           [FieldViolation("content", description)], reason="BAD_FILE")


def declared_format(filename: str, content_type: str, allowed: tuple[str, ...]) -> str:
    """The format named by the content type or, failing that, the file extension."""
    by_type = {value: key for key, value in FORMATS.items()}
    base_type = content_type.split(";")[0].strip().lower()
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    chosen = by_type.get(base_type) or (extension if extension in FORMATS else None)
    if chosen is None or chosen not in allowed:
        raise InvalidArgument("This kind of file is not accepted", [FieldViolation(
            "content_type", f"must be one of: {', '.join(FORMATS[a] for a in allowed)}")],
            reason="TYPE_NOT_ALLOWED")
    if extension and extension in FORMATS and extension != chosen:
        raise InvalidArgument("The file name and content type disagree", [FieldViolation(
            "filename", f"a .{extension} file cannot be {FORMATS[chosen]}")], reason="TYPE_MISMATCH")
    return chosen


def _extracted(declared: str, content: bytes) -> str:
    """Text of a PDF or DOCX, read in a bounded child process (`sandbox`)."""
    try:
        return sandbox.extract_text(declared, content)
    except Refused as refused:
        if refused.kind == "too_complex":
            raise InvalidArgument(f"The document is too complex to read: {refused.description}",
                                  [FieldViolation("content", refused.description)],
                                  reason="DOCUMENT_TOO_COMPLEX") from None
        raise _bad(refused.description) from None


def inspect(content: bytes, *, declared: str) -> Inspected:
    """Check `content` against the declared format; extract its text."""
    if not content:
        raise _bad("the file is empty")
    if content.startswith(_EXECUTABLES):
        raise _bad("executables and scripts are not accepted")
    text: str | None
    if declared in ("pdf", "docx"):
        text = _extracted(declared, content)
    elif declared == "doc":
        if not content.startswith(_OLE):
            raise _bad("the content is not a Word 97-2003 document")
        text = None
    else:
        if b"\x00" in content:
            raise _bad("a text file must not contain NUL bytes")
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad("a text file must be UTF-8") from None
    if text is not None:
        text = re.sub(r"[ \t]+", " ", text).strip()[:MAX_TEXT]
    return Inspected(declared, FORMATS[declared], text)
