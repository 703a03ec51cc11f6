"""What one isolated worker does: cap itself, read one untrusted file, write the task's JSON.

A worker is a process forked by the parser server (:mod:`ingest.isolation.server`) for one file;
its stdin is the file's bytes, its stdout the result file, its stderr an error file, all given
by the ingesting process (:func:`ingest.isolation.process.run_isolated`). It caps its memory and
output (:func:`apply_limits`) before reading a byte, then hands the bytes to a task module's
``extract(data, options)``. The tasks (:data:`TASKS`) are the format readers of
:mod:`ingest.extractors`, and ``page`` (:mod:`ingest.extractors.page_image`: one PDF page
rendered, for the source viewer).

Every task answers in one shape, which the parent validates as untrusted input::

    {"blocks": [{"type": "text" | "table", "text": str, "page": int | null,
                 "headings": [[line, level], ...]}
              | {"type": "figure", "image": base64, "captions": [str], "page": int | null}
              | {"type": "scan", "image": base64, "text": str, "page": int}],
     "notes": [message], "run_notes": [str],
     "layouts": [{"page": int, "words": [[str, left, top, right, bottom]]}]}

or ``{"error": message}`` for a file the task rejects (encrypted, broken, too many units), where
a message is a string or ``{"text": str, "template": str, "values": {...}}``
(:meth:`rag.errors.Message.to_json`). JSON, never a pickle: a compromised worker must not be
able to run code in the parent.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

# Exit status a worker uses to say "ran out of memory" (MemoryError under RLIMIT_AS).
MEMORY_EXIT = 3

TASKS = {
    "text": "ingest.extractors.text",
    "markdown": "ingest.extractors.markdown",
    "html": "ingest.extractors.html",
    "docx": "ingest.extractors.docx",
    "xlsx": "ingest.extractors.xlsx",
    "pptx": "ingest.extractors.pptx",
    "pdf": "ingest.extractors.pdf",
    "hwp": "ingest.extractors.hwp",
    "hwpx": "ingest.extractors.hwpx",
    "ocr": "ingest.extractors.ocr",
    "page": "ingest.extractors.page_image",
}


def apply_limits(memory_mb: int, max_output_bytes: int) -> None:
    """Before reading input: cap the memory this process may add, and the size of files written.

    The address-space limit is the worker's size at its start (the parsers' code, shared with
    the server it was forked from) plus ``memory_mb``: what the file may cost.
    """
    import resource  # POSIX only; the ingesting process never imports it

    memory = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_output_bytes, max_output_bytes))


def _address_space() -> int:
    """The virtual size of this process in bytes (0 where ``/proc`` does not say)."""
    import os
    from pathlib import Path

    try:
        pages = Path("/proc/self/statm").read_text().split()[0]
        return int(pages) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def work(module: str, options: dict[str, Any], memory_mb: int, max_output_bytes: int) -> int:
    """Limit this process, run ``module.extract`` on stdin, print its JSON; the exit status."""
    apply_limits(memory_mb, max_output_bytes)
    data = sys.stdin.buffer.read()
    try:
        task = importlib.import_module(module)
        payload = json.dumps(task.extract(data, options), ensure_ascii=False)
        sys.stdout.write(payload)
        sys.stdout.flush()
    except MemoryError:
        return MEMORY_EXIT
    return 0
