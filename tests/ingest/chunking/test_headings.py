"""Loaders tell the chunker their documents' headings: which lines, at which level."""

from __future__ import annotations

import io

import pytest

from devkit import documents as fx
from ingest.file_limits import Limits
from ingest.loaders import Segment, load
from ingest.loaders.base import Heading

LIMITS = Limits()


def headings_of(loaded) -> list[tuple[str, int]]:
    """Every heading as (its line's text, level), in reading order."""
    found = []
    for block in loaded.blocks:
        if isinstance(block, Segment):
            lines = block.text.split("\n")
            found.extend((lines[h.line], h.level) for h in block.headings)
    return found


def test_markdown_atx_and_setext_headings_but_not_code_comments(tmp_path):
    text = (
        "# 운영 가이드\n소개입니다.\n\n## 설치\n설치 방법입니다.\n"
        "```bash\n# 이 줄은 주석입니다\n```\n"
        "Usage\n-----\n사용법입니다.\n\n- 목록 항목\n---\n"
    )
    loaded = load(tmp_path / "guide.md", text.encode(), LIMITS)
    assert headings_of(loaded) == [("# 운영 가이드", 1), ("## 설치", 2), ("Usage", 2)]
    assert loaded.blocks[0].text == text  # the words as written: marks beside the text


def test_html_title_and_heading_levels(tmp_path):
    page = (
        "<html><head><title>Cloud Notes</title></head><body>"
        "<h1>Product <b>overview</b></h1><p>Notes for teams.</p>"
        "<h2>Pricing</h2><p>Basic is free.</p><h3>Enterprise</h3><p>Ask us.</p></body></html>"
    )
    loaded = load(tmp_path / "page.html", page.encode(), LIMITS)
    assert headings_of(loaded) == [
        ("Cloud Notes", 0),
        ("Product overview", 1),
        ("Pricing", 2),
        ("Enterprise", 3),
    ]
    assert "\x00" not in loaded.blocks[0].text


def test_docx_title_and_heading_styles(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("인사 규정", 0)
    document.add_heading("제1장 총칙", 1)
    document.add_paragraph("이 규정은 모든 직원에게 적용한다.\n둘째 줄입니다.")
    document.add_heading("휴가", 2)
    document.add_paragraph("연차 휴가는 15일이다.")
    buffer = io.BytesIO()
    document.save(buffer)
    loaded = load(tmp_path / "규정.docx", buffer.getvalue(), LIMITS)
    assert headings_of(loaded) == [("인사 규정", 0), ("제1장 총칙", 1), ("휴가", 2)]


@pytest.mark.parametrize("suffix", [".hwp", ".hwpx"])
def test_hancom_outline_levels(tmp_path, suffix: str):
    from hwpx import HwpxDocument

    document = HwpxDocument.new()
    document.add_heading("제1장 총칙", level=1)
    document.add_paragraph("본문입니다.", para_pr_id_ref=0, style_id_ref=0)
    document.add_heading("제1절 목적", level=2)
    document.add_paragraph("둘째 본문입니다.", para_pr_id_ref=0, style_id_ref=0)
    path = tmp_path / f"규정{suffix}"
    document.save_to_path(str(path))
    loaded = load(path, path.read_bytes(), LIMITS)
    assert headings_of(loaded) == [("제1장 총칙", 1), ("제1절 목적", 2)]


def test_hancom_headings_from_the_child_are_validated(tmp_path):
    from ingest.loaders.isolated import _validated
    from rag.errors import IngestError

    good = b'{"blocks": [{"type": "text", "text": "a", "headings": [[0, 1]]}], "notes": []}'
    assert _validated(good, "HWP parser")["blocks"][0]["headings"] == [(0, 1)]
    bad = b'{"blocks": [{"type": "text", "text": "a", "headings": [["x", 1]]}], "notes": []}'
    with pytest.raises(IngestError, match="HWP parser returned malformed output"):
        _validated(bad, "HWP parser")


def test_pptx_slide_title_heads_its_slide(tmp_path):
    path = fx.deck(tmp_path / "전략.pptx")
    loaded = load(path, path.read_bytes(), LIMITS)
    assert headings_of(loaded) == [(fx.PPTX_TITLE, 1), ("지역별 목표", 1), ("분기별 실적", 1)]


def test_xlsx_sheet_name_heads_its_tables(tmp_path):
    path = fx.workbook(tmp_path / "재고.xlsx")
    loaded = load(path, path.read_bytes(), LIMITS)
    first = loaded.blocks[0]
    assert isinstance(first, Segment)
    assert (first.text, first.headings) == ("재고", (Heading(0, 1),))
    assert all(b.kind == "table" for b in loaded.blocks[1:])
