"""Where a passage is printed on its page: its words found in the page's layout, as boxes.

A PDF passage is stored as text that was reflowed and chunked (lines joined, hyphenated words
rejoined, sometimes a caption taken out), and an OCR'd page's text went through the same; the
page's layout (:class:`~rag.store.records.PageLayout`) keeps the words as printed. Both are
compared without white space, hyphens or case, so the passage is found letter for letter; when
it is not there as a whole (OCR read the page differently, a caption was moved out), the
longest runs they share align it, and the words from the first run to the last are the region.
A passage that shares too little with the page gets no boxes rather than a wrong place.

The region is returned as one box per printed line, as fractions of the page, for
:func:`draw_highlight` to paint on any rendering of the page.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence

from PIL import Image, ImageDraw

from rag.store.records import PageLayout, WordBox

Box = tuple[float, float, float, float]  # left, top, right, bottom, as fractions of the page

# Runs shorter than this are chance (a syllable, a digit) and do not place a passage.
MIN_RUN = 4
# A passage whose aligned runs cover less of it than this is not shown on the page.
MIN_FOUND = 0.3
HIGHLIGHT = (255, 200, 0, 96)
OUTLINE = (230, 140, 0, 255)
_DROPPED = frozenset("-\u00ad\u2010\u2011")


def _normal(text: str) -> str:
    """What is compared: NFKC, case folded, no white space or hyphens."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(char for char in folded if not char.isspace() and char not in _DROPPED)


def passage_boxes(passage: str, layout: PageLayout) -> list[Box]:
    """The lines of ``layout`` that print ``passage``, one box each, top to bottom.

    Empty when the passage is not found on the page.
    """
    owners: list[int] = []
    letters: list[str] = []
    for index, word in enumerate(layout.words):
        normal = _normal(word.text)
        letters.append(normal)
        owners.extend([index] * len(normal))
    page, wanted = "".join(letters), _normal(passage)
    if not wanted or not page:
        return []
    start = page.find(wanted)
    if start >= 0:
        first, last = owners[start], owners[start + len(wanted) - 1]
    else:
        matcher = difflib.SequenceMatcher(None, page, wanted, autojunk=False)
        runs = [run for run in matcher.get_matching_blocks() if run.size >= MIN_RUN]
        if sum(run.size for run in runs) < MIN_FOUND * len(wanted):
            return []
        first, last = owners[runs[0].a], owners[runs[-1].a + runs[-1].size - 1]
    return line_boxes(layout.words[first : last + 1])


def line_boxes(words: Sequence[WordBox]) -> list[Box]:
    """Words in reading order as one box per printed line.

    A word that overlaps the current line's height continues it; any other starts a new line.
    """
    lines: list[list[float]] = []
    for word in words:
        line = lines[-1] if lines else None
        if line is not None and word.top < line[3] and word.bottom > line[1]:
            line[:] = [
                min(line[0], word.left),
                min(line[1], word.top),
                max(line[2], word.right),
                max(line[3], word.bottom),
            ]
        else:
            lines.append([word.left, word.top, word.right, word.bottom])
    return [(left, top, right, bottom) for left, top, right, bottom in lines]


def draw_highlight(image: Image.Image, boxes: Sequence[Box]) -> Image.Image:
    """``image`` (a rendering of the page) with ``boxes`` painted over it, as RGB."""
    base = image.convert("RGBA")
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    width, height = base.size
    pad = max(1, round(height * 0.002))
    for left, top, right, bottom in boxes:
        rectangle = (
            round(left * width) - pad,
            round(top * height) - pad,
            round(right * width) + pad,
            round(bottom * height) + pad,
        )
        draw.rectangle(rectangle, fill=HIGHLIGHT, outline=OUTLINE, width=pad)
    return Image.alpha_composite(base, overlay).convert("RGB")
