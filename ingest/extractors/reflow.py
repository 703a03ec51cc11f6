"""Printed lines back into paragraphs (PDF text layers and OCR output).

A PDF's text and Tesseract's output arrive as the lines a page printed, so a sentence is cut
wherever the line was full. Lines are rejoined (a break survives only after sentence-ending
punctuation or before a list item) to give the chunker real sentence boundaries.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")
_ENDS_LINE = re.compile(r"[.!?。！？:;)\]」』\"'”’]$")  # noqa: RUF001 (CJK punctuation)
_STARTS_ITEM = re.compile(r"^([•·▪◦○●■□▶\-–*]|\d{1,3}[.)]|[가-하][.)]|\(\d{1,3}\))\s*")  # noqa: RUF001


def reflow(text: str) -> str:
    """Join a page's printed lines back into paragraphs."""
    lines = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    out: list[str] = []
    for line in (" ".join(raw.split()) for raw in lines):
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        previous = out[-1] if out else ""
        if previous and not _ENDS_LINE.search(previous) and not _STARTS_ITEM.match(line):
            if previous.endswith("-") and line[:1].islower():  # a hyphenated English word
                out[-1] = previous[:-1] + line
            else:
                out[-1] = f"{previous} {line}"
        else:
            out.append(line)
    return "\n".join(out).strip()
