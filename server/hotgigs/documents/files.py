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
import io
import re
import zipfile
from xml.etree import ElementTree

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from hotgigs.errors import FieldViolation, InvalidArgument

FORMATS: dict[str, str] = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "txt": "text/plain",
}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EXECUTABLES = (b"\x7fELF", b"MZ", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"#!")
MAX_TEXT = 200_000
MAX_UNZIPPED = 64 * 1024 * 1024


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


def _pdf_text(content: bytes) -> str:
    if not content.startswith(b"%PDF-"):
        raise _bad("the content is not a PDF")
    if b"%%EOF" not in content[-2048:]:
        raise _bad("the PDF is truncated (no end-of-file marker)")
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        raise _bad(f"the PDF is damaged ({type(error).__name__})") from None


def _docx_text(content: bytes) -> str:
    if not content.startswith(b"PK\x03\x04"):
        raise _bad("the content is not a DOCX (ZIP) file")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED:
                raise _bad("the DOCX unpacks to more than 64 MB")
            xml = archive.read("word/document.xml")
    except KeyError:
        raise _bad("the ZIP file is not a Word document") from None
    except (zipfile.BadZipFile, OSError):
        raise _bad("the DOCX is damaged or truncated") from None
    try:
        root = ElementTree.fromstring(xml)  # noqa: S314 - expat 2.4+ caps entity amplification
    except ElementTree.ParseError:
        raise _bad("the DOCX is damaged") from None
    paragraphs = []
    for paragraph in root.iter("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}p"):
        paragraphs.append("".join(node.text or "" for node in paragraph.iter()
                                  if node.tag.endswith("}t")))
    return "\n".join(paragraphs)


def inspect(content: bytes, *, declared: str) -> Inspected:
    """Check `content` against the declared format; extract its text."""
    if not content:
        raise _bad("the file is empty")
    if content.startswith(_EXECUTABLES):
        raise _bad("executables and scripts are not accepted")
    text: str | None
    if declared == "pdf":
        text = _pdf_text(content)
    elif declared == "docx":
        text = _docx_text(content)
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
