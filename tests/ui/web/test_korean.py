"""Korean particles follow the word before them (:mod:`ui.web.korean`)."""

from __future__ import annotations

import pytest

from ui.web.korean import attach_particles, final_of, particle


@pytest.mark.parametrize(
    ("word", "final"),
    [
        ("문서", None),  # 서: no final consonant
        ("책", "C"),  # 책: ㄱ
        ("서울", "ㄹ"),  # 울: ㄹ
        ("'시트1'", "ㄹ"),  # 일, past the quote
        ("2", None),  # 이
        ("3", "C"),  # 삼
        ("10", "C"),  # 십
        ("1,000", "C"),  # 천
        ("1000000000000", None),  # 조
        ("0", "C"),  # 영
        ("PDF", None),  # 에프
        ("HTML", "ㄹ"),  # 에이치티엠엘
        ("XLSM", "C"),  # ...엠
        ("Word (DOCX)", None),  # 엑스, past the bracket
        ("parser", None),  # 파서
        ("book", "C"),  # 북
        ("email", "ㄹ"),  # 이메일
        ("!!", None),  # nothing to read
    ],
)
def test_a_word_ends_as_it_is_read_aloud(word: str, final: str | None):
    assert final_of(word) == final


@pytest.mark.parametrize(
    ("word", "placeholder", "expected"),
    [
        ("PDF 문서", "이(가)", "가"),
        ("HWP 파서", "이(가)", "가"),
        ("텍스트", "을(를)", "를"),
        ("이미지", "은(는)", "는"),
        ("책", "은(는)", "은"),
        ("책", "을(를)", "을"),
        ("책", "과(와)", "과"),
        ("선영", "(으)로", "으로"),
        ("서울", "(으)로", "로"),  # ㄹ takes 로
        ("김철수", "(으)로", "로"),
        ("7", "(으)로", "로"),  # 칠
        ("6", "(으)로", "으로"),  # 육
        ("OCR", "이(가)", "이"),  # 알
    ],
)
def test_each_particle_takes_the_form_its_word_needs(word: str, placeholder: str, expected: str):
    assert particle(word, placeholder) == expected


def test_a_sentence_gets_every_particle_right():
    text = "내용이 PDF 문서이(가) 아니라 이미지입니다; 시트 'A'은(는) 건너뜀; 선영(으)로 로그인됨"
    assert attach_particles(text) == (
        "내용이 PDF 문서가 아니라 이미지입니다; 시트 'A'는 건너뜀; 선영으로 로그인됨"
    )


def test_text_without_placeholders_is_unchanged():
    text = "괄호(설명)는 그대로 (이미지 3개)"
    assert attach_particles(text) == text
