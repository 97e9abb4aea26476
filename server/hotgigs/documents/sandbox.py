"""Runs `hotgigs.documents.extract` in a child process: the worker never parses a PDF or DOCX.

The child limits its own address space (256 MB) and CPU time (5 s) before it reads the file;
the worker kills it after 10 s of wall time. A child that runs out of a budget, is killed or
answers nonsense is reported as "too complex" (400 DOCUMENT_TOO_COMPLEX). At most
`CONCURRENT` children per worker run at once; others wait up to the wall timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from hotgigs.documents.extract import Refused

WALL_SECONDS = 10.0
CONCURRENT = 2
_slots = threading.BoundedSemaphore(CONCURRENT)


def extract_text(declared: str, content: bytes) -> str:
    """The document's text, or `Refused`."""
    if not _slots.acquire(timeout=WALL_SECONDS):
        raise Refused("too_complex", "the server is busy reading other documents; try again")
    try:
        return _run(declared, content)
    finally:
        _slots.release()


def _run(declared: str, content: bytes) -> str:
    process = subprocess.Popen(  # noqa: S603 - our interpreter, our module, a fixed format name
        [sys.executable, "-I", "-m", "hotgigs.documents.extract", declared],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        output, _ = process.communicate(content, timeout=WALL_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise Refused("too_complex", "reading the document took too long") from None
    try:
        answer = json.loads(output)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):  # killed by its CPU or memory limit, or crashed
        raise Refused("too_complex", "reading the document needed too much memory or time")
    if "error" in answer:
        raise Refused(str(answer["error"]), str(answer.get("description", "")))
    return str(answer.get("text", ""))
