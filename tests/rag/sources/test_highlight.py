"""A passage found on its page: exactly, despite reflowing and OCR slips, or not at all."""

from __future__ import annotations

from PIL import Image

from rag.sources.highlight import HIGHLIGHT, draw_highlight, line_boxes, passage_boxes
from rag.store import PageLayout, WordBox

# Two printed lines and a third: "연차 휴가는 입사 첫해에 / 최대 11일까지 쓸 수 있- / 습니다."
LINES = [
    ["연차", "휴가는", "입사", "첫해에"],
    ["최대", "11일까지", "쓸", "수", "있-"],
    ["습니다.", "병가는", "60일입니다."],
]


def layout() -> PageLayout:
    words = []
    for row, line in enumerate(LINES):
        top = 0.1 + row * 0.05
        for column, text in enumerate(line):
            left = 0.1 + column * 0.15
            words.append(WordBox(text, left, top, left + 0.12, top + 0.03))
    return PageLayout(1, tuple(words))


def test_a_reflowed_passage_is_found_line_by_line():
    # Reflowing joined the lines and the hyphenated word; the page still prints them apart.
    boxes = passage_boxes("입사 첫해에 최대 11일까지 쓸 수 있습니다.", layout())
    assert [round(box[1], 2) for box in boxes] == [0.1, 0.15, 0.2]
    first, middle, last = boxes
    assert round(first[0], 2) == 0.4 and round(middle[0], 2) == 0.1  # starts at 입사
    assert round(last[2], 2) == round(0.1 + 0.12, 2)  # ends with 습니다., not 병가는


def test_an_ocr_slip_still_places_the_passage():
    # OCR read "휴가는" as "휴기는" and lost a space: the longest shared runs align it.
    boxes = passage_boxes("연차 휴기는 입사 첫해에최대 11일까지", layout())
    assert [round(box[1], 2) for box in boxes] == [0.1, 0.15]


def test_a_passage_from_elsewhere_gets_no_boxes():
    assert passage_boxes("Passwords must be at least 14 characters long.", layout()) == []
    assert passage_boxes("", layout()) == []


def test_words_of_one_line_make_one_box():
    words = [WordBox("a", 0.1, 0.1, 0.2, 0.13), WordBox("b", 0.25, 0.11, 0.3, 0.14)]
    assert line_boxes(words) == [(0.1, 0.1, 0.3, 0.14)]


def test_the_highlight_is_painted_where_the_boxes_are_and_nowhere_else():
    page = Image.new("RGB", (400, 200), "white")
    painted = draw_highlight(page, [(0.25, 0.25, 0.5, 0.5)])
    inside, outside = painted.getpixel((150, 75)), painted.getpixel((300, 150))
    assert outside == (255, 255, 255)
    assert inside != (255, 255, 255) and inside[2] < inside[0]  # yellowish: less blue than red
    alpha = HIGHLIGHT[3] / 255
    assert abs(inside[2] - round(255 * (1 - alpha) + HIGHLIGHT[2] * alpha)) <= 1
