"""Where a page's words are printed, so a passage can later be shown highlighted on its page.

A PDF's text layer gives every character a box in page space (points, the origin at the bottom
left, before the page's rotation); a scanned page's words come from Tesseract as pixel boxes
of the rendering it read. Both become :class:`~rag.store.records.WordBox` rows: the word and
its box as fractions of the page as it is displayed (rotation applied, the origin at the top
left), which scale onto any rendering of that page.

Runs in the isolated child (:mod:`ingest.extractors.pdf`, :mod:`ingest.extractors.ocr`); the
parent validates the rows like any other output of the child.
"""

from __future__ import annotations

from typing import Any

# A page with more words than this keeps no layout (its passages are shown without a
# highlight): a real page prints a few hundred, and the layout is stored for every page.
MAX_WORDS_PER_PAGE = 5000
_DIGITS = 4

Row = list[Any]  # [text, left, top, right, bottom]


def pdf_page_words(page: Any, textpage: Any) -> list[Row] | None:
    """The words of a pypdfium2 page's text layer with their boxes; None past the cap.

    Characters are joined into words until white space, or until the next character sits on
    another line (a text layer need not print a space at a line's end).
    """
    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = page.get_bbox()  # the crop box as shown, inherited or not
    width, height = right - left, top - bottom
    if width <= 0 or height <= 0:
        return None
    rotation = page.get_rotation() % 360
    words: list[Row] = []
    current: list[str] = []
    box: list[float] = []
    for index in range(textpage.count_chars()):
        char = chr(pdfium_c.FPDFText_GetUnicode(textpage, index) or 0x20)
        if char.isspace() or not char.isprintable():
            _close(current, box, words)
            continue
        x0, y0, x1, y1 = textpage.get_charbox(index, loose=True)  # the line's full height
        u0, u1 = (x0 - left) / width, (x1 - left) / width
        v0, v1 = (top - y1) / height, (top - y0) / height
        if current and not _same_line(box, v0, v1):
            _close(current, box, words)
        if current:
            box[:] = [min(box[0], u0), min(box[1], v0), max(box[2], u1), max(box[3], v1)]
        else:
            box[:] = [u0, v0, u1, v1]
        current.append(char)
        if len(words) > MAX_WORDS_PER_PAGE:
            return None
    _close(current, box, words)
    return [[text, *rotated(corners, rotation)] for text, *corners in words]


def _same_line(box: list[float], top: float, bottom: float) -> bool:
    """Whether a character's vertical span overlaps the word's (same printed line)."""
    return top < box[3] and bottom > box[1]


def _close(current: list[str], box: list[float], words: list[Row]) -> None:
    if current:
        words.append(["".join(current), *box])
        current.clear()


def pixel_words(
    found: list[tuple[str, tuple[int, int, int, int]]], size: tuple[int, int]
) -> list[Row]:
    """Words with pixel boxes ``(left, top, right, bottom)`` in an image of ``size``."""
    width, height = size
    if width <= 0 or height <= 0:
        return []
    rows: list[Row] = []
    for text, (x0, y0, x1, y1) in found[:MAX_WORDS_PER_PAGE]:
        word = text.strip()
        if word:
            rows.append([word, *rotated((x0 / width, y0 / height, x1 / width, y1 / height), 0)])
    return rows


def rotated(corners: tuple[float, ...] | list[float], rotation: int) -> list[float]:
    """A box of the unrotated page ``(left, top, right, bottom)`` on the page turned clockwise.

    Clamped to the page and rounded (the layout is stored for every page).
    """
    u0, v0, u1, v1 = (min(max(float(value), 0.0), 1.0) for value in corners)
    if rotation == 90:
        u0, v0, u1, v1 = 1 - v1, u0, 1 - v0, u1
    elif rotation == 180:
        u0, v0, u1, v1 = 1 - u1, 1 - v1, 1 - u0, 1 - v0
    elif rotation == 270:
        u0, v0, u1, v1 = v0, 1 - u1, v1, 1 - u0
    return [round(u0, _DIGITS), round(v0, _DIGITS), round(u1, _DIGITS), round(v1, _DIGITS)]
