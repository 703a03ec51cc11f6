"""Worker task ``text``: plain text in UTF-8, UTF-16, CP949 or EUC-KR.

Korean files from older Windows tools are often CP949 (a superset of EUC-KR) with no marker, so
the encoding has to be inferred. UTF-8 is tried first because a strict UTF-8 decode almost never
succeeds on anything else; byte-order marks settle UTF-16/32; only then is
``charset-normalizer`` asked to choose among the legacy Korean encodings and BOM-less UTF-16.
The candidates are deliberately few: allowing Latin-1 would "decode" any byte soup, and a
wrong guess would index mojibake that no query ever matches.

The text is one segment; its lines are counted against ``ingest.max_units_per_file`` (a file of
nothing but line breaks is refused before the chunker walks it).
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from charset_normalizer import from_bytes

from ingest.extractors.answer import answer, rejecting
from ingest.extractors.nearby import Block
from ingest.extractors.units import Units
from rag.errors import IngestError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LEGACY = ["cp949", "euc_kr", "utf_16_le", "utf_16_be"]
# Hangul syllables and jamo, CJK symbols, full-width forms, general punctuation (quotes, dots).
_KOREAN = re.compile(
    r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f\u3000-\u303f\uff00-\uffef\u00b7\u2010-\u2027]"
)

LINES = "lines"


def decode_text(data: bytes) -> str:
    """Decode text bytes, detecting the encoding; any line break style becomes one newline.

    Raises:
        IngestError: Unknown encoding, binary content or no text at all.

    """
    text = _decode(data)
    if "\x00" in text:
        raise IngestError.because("contains NUL bytes: binary data, not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise IngestError.because("no text in file")
    return text


def _decode(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as error:
                template = "broken {encoding} text (invalid bytes at offset {offset})"
                raise IngestError.because(template, encoding=encoding, offset=error.start) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data, cp_isolation=_LEGACY).best()
    text = str(best) if best is not None else ""
    if not _looks_korean_or_ascii(text):
        raise IngestError.because("unknown text encoding (not UTF-8, UTF-16, CP949 or EUC-KR)")
    return text


def _looks_korean_or_ascii(text: str) -> bool:
    """A legacy decode must mostly give Hangul or ASCII; anything else was a wrong guess."""
    if not text:
        return False
    sample = text[:100_000]
    plausible = sum(1 for c in sample if c.isascii() or _KOREAN.match(c))
    return plausible >= 0.8 * len(sample)


@rejecting
def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    """A plain text file: one segment."""
    text = decode_text(data)
    Units(options, "text").add(text.count("\n") + 1, LINES)
    return answer([Block("text", text)])
