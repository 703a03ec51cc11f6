"""The isolated child process: one untrusted file in on stdin, JSON blocks out on stdout.

Run as ``python -m ingest.isolation.child --memory-mb M --max-output-bytes N TASK --options JSON``
by :func:`ingest.loaders.isolated.run_task`, never in the ingesting process. It caps its own memory
and output (:func:`ingest.isolation.process.apply_limits`) before reading a byte, then hands the
bytes to the task's ``extract(data, options)``:

- ``pdf``: :mod:`ingest.extractors.pdf` (pypdfium2; OCR of pages without a text layer),
- ``hwp``: :mod:`ingest.extractors.hwp` (HWP 5 over olefile),
- ``hwpx``: :mod:`ingest.extractors.hwpx` (OWPML over zipfile and lxml),
- ``ocr``: :mod:`ingest.extractors.ocr` (Tesseract on one image),
- ``page``: :mod:`ingest.extractors.page_image` (one PDF page rendered, for the source viewer).

Every task answers in one shape, which the parent validates as untrusted input::

    {"blocks": [{"type": "text" | "table", "text": str, "page": int | null}
              | {"type": "figure", "image": base64, "captions": [str], "page": int | null}
              | {"type": "scan", "image": base64, "text": str, "page": int}],
     "notes": [message], "run_notes": [str],
     "layouts": [{"page": int, "words": [[str, left, top, right, bottom]]}]}

or ``{"error": message}`` for a file the task rejects (encrypted, broken), where a message is a
string or ``{"text": str, "template": str, "values": {...}}`` (:meth:`rag.errors.Message.to_json`).
JSON, never a pickle: a compromised child must not be able to run code in the parent.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from ingest.isolation.process import MEMORY_EXIT, apply_limits

TASKS = {
    "pdf": "ingest.extractors.pdf",
    "hwp": "ingest.extractors.hwp",
    "hwpx": "ingest.extractors.hwpx",
    "ocr": "ingest.extractors.ocr",
    "page": "ingest.extractors.page_image",
}


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, limit this process, run the task, print its JSON."""
    parser = argparse.ArgumentParser(prog="ingest.isolation.child")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--max-output-bytes", type=int, required=True)
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--options", default="{}")
    args = parser.parse_args(argv)
    apply_limits(args.memory_mb, args.max_output_bytes)
    data = sys.stdin.buffer.read()
    try:
        task = importlib.import_module(TASKS[args.task])
        result = task.extract(data, json.loads(args.options))
        payload = json.dumps(result, ensure_ascii=False)
    except MemoryError:
        sys.exit(MEMORY_EXIT)
    sys.stdout.write(payload)


if __name__ == "__main__":
    main()
