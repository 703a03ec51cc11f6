"""Loaders on real generated files: what each format yields, and how bad content is refused."""

from __future__ import annotations

import base64
import io
import logging

import pytest
from PIL import Image

from devkit import corpus as corpus
from ingest.extractors.reflow import reflow
from ingest.extractors.text import decode_text
from ingest.file_limits import Limits
from ingest.formats import check_content
from ingest.loaders import Figure, Segment, load
from rag.errors import IngestError

logging.getLogger("fontTools").setLevel(logging.ERROR)
LIMITS = Limits()


def segments(loaded) -> list[Segment]:
    return [b for b in loaded.blocks if isinstance(b, Segment)]


def figures(loaded) -> list[Figure]:
    return [b for b in loaded.blocks if isinstance(b, Figure)]


# --- content checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "data", "reason"),
    [
        (".pdf", corpus.png_bytes(corpus.chart()), "content is a PNG image, not a PDF document"),
        (".pdf", b"\x13\x37" * 100, "not a PDF: no %PDF- header"),
        (".docx", b"%PDF-1.7\n...", "content is a PDF document, not a Word (DOCX) document"),
        (".docx", b"plain words", "not a DOCX"),
        (".png", b"%PDF-1.4 hello", "content is a PDF document, not an image"),
        (".txt", corpus.png_bytes(corpus.chart()), "content is a PNG image, not text"),
        (".md", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "legacy Office file"),
        (".xyz", b"hello", "unsupported file type .xyz"),
    ],
)
def test_content_must_match_the_suffix(suffix: str, data: bytes, reason: str):
    with pytest.raises(IngestError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_content(suffix, data)


def test_text_that_starts_like_bmp_is_still_text():
    assert check_content(".txt", "BMW 보고서 2024".encode()) == "text"
    assert check_content(".JPG", corpus.png_bytes(corpus.chart())) == "image"  # any image kind


# --- text encodings ----------------------------------------------------------------------------

SENTENCE = "한빛테크는 2010년에 설립되었습니다. 본사는 서울에 있습니다."


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp949", "euc-kr"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_korean_text_in_every_common_encoding(encoding: str):
    assert decode_text(SENTENCE.encode(encoding)) == SENTENCE


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("Le café est très bon".encode("latin-1"), "unknown text encoding"),
        (b"\x00\x01\x02 hello", "NUL bytes"),
        (b"  \n\t  ", "no text"),
    ],
)
def test_undecodable_text_is_refused(data: bytes, reason: str):
    with pytest.raises(IngestError, match=reason):
        decode_text(data)


def test_line_breaks_are_normalized(tmp_path):
    loaded = load(tmp_path / "a.txt", b"one\r\ntwo\rthree\n", LIMITS)
    assert segments(loaded)[0].text == "one\ntwo\nthree\n"


def test_markdown_tables_and_inline_images(tmp_path):
    inline = base64.b64encode(corpus.png_bytes(corpus.chart())).decode()
    text = (
        "# 요금\n기본 요금제를 소개합니다.\n\n"
        "| 요금제 | 월 요금 |\n|---|---:|\n| 기본 | 5,000원 |\n| 프로 | 9,000원 |\n\n"
        f"![분기별 매출 차트](data:image/png;base64,{inline})\n"
        "![로고](../secret/logo.png)\n"
    )
    loaded = load(tmp_path / "a.md", text.encode(), LIMITS)
    tables = [s for s in segments(loaded) if s.kind == "table"]
    assert [t.text for t in tables] == ["요금제 | 월 요금\n기본 | 5,000원\n프로 | 9,000원"]
    [figure] = figures(loaded)
    assert figure.captions == ("분기별 매출 차트",)
    prose = "\n".join(s.text for s in segments(loaded) if s.kind == "text")
    assert "base64" not in prose and "분기별 매출 차트" in prose and "로고" in prose


# --- HTML --------------------------------------------------------------------------------------


def test_html_main_text_alt_figcaption_and_table(tmp_path):
    path = corpus.html_page(tmp_path / "page.html")
    (tmp_path / "logo.png").write_bytes(corpus.png_bytes(corpus.chart()))
    loaded = load(path, path.read_bytes(), LIMITS)
    prose = "\n".join(s.text for s in segments(loaded) if s.kind == "text")
    assert prose.startswith("제품 소개\n클라우드 노트")
    assert "팀 협업을 위한 메모 서비스" in prose
    assert "클라우드 노트 로고" in prose  # alt text of an image we never open
    for chrome in ("스크립트", "color: red", "채용", "저작권"):
        assert chrome not in prose
    [table] = [s for s in segments(loaded) if s.kind == "table"]
    assert table.text == "요금제 | 월 요금\n기본 | 5,000원"
    [figure] = figures(loaded)  # only the data-URL image: src="../../etc/passwd" is not read
    assert figure.captions == ("요금제 비교 차트", "표 3. 요금제별 월 요금")


def test_html_without_main_uses_body_and_survives_deep_nesting(tmp_path):
    deep = "<div>" * 5000 + "깊은 곳의 문장입니다." + "</div>" * 5000
    html = f"<html><body><header>메뉴</header><p>본문입니다.</p>{deep}</body></html>"
    loaded = load(tmp_path / "deep.html", html.encode(), LIMITS)
    text = segments(loaded)[0].text
    assert "본문입니다." in text and "메뉴" not in text


# --- DOCX --------------------------------------------------------------------------------------


def test_docx_paragraphs_table_and_picture(tmp_path):
    path = corpus.korean_docx(tmp_path / "규정.docx")
    loaded = load(path, path.read_bytes(), LIMITS)
    texts = [s.text for s in segments(loaded) if s.kind == "text"]
    assert texts[0] == "인사 규정\n연차 휴가는 입사 첫해에 최대 11일까지 사용할 수 있습니다."
    [table] = [s for s in segments(loaded) if s.kind == "table"]
    assert table.text == "구분 | 일수\n연차 | 15일\n병가 | 10일"
    [figure] = figures(loaded)
    assert figure.captions == (corpus.DOCX_ALT, corpus.DOCX_CAPTION)
    assert figure.image.size == (240, 160)


def test_docx_zip_bomb_is_refused_before_unpacking(tmp_path):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        with archive.open("word/media/huge.bin", "w") as huge:  # 600 MB of zeros, ~600 KB packed
            for _ in range(600):
                huge.write(bytes(1024 * 1024))
    with pytest.raises(IngestError, match=r"DOCX unpacks to 629,145,\d+ bytes, over the"):
        load(tmp_path / "bomb.docx", buffer.getvalue(), LIMITS)


# --- PDF ---------------------------------------------------------------------------------------


def test_korean_pdf_pages_and_embedded_image(tmp_path):
    path = corpus.korean_pdf(tmp_path / "보고서.pdf")
    loaded = load(path, path.read_bytes(), LIMITS)
    pages = {s.page: s.text for s in segments(loaded)}
    assert corpus.KOREAN_PDF_TEXT in pages[1]
    assert pages[2] == corpus.PDF_PAGE2_TEXT
    [figure] = figures(loaded)
    assert figure.page == 1
    assert figure.captions == (corpus.PDF_FIGURE_CAPTION,)
    assert figure.image.size == (240, 160)
    assert figure.image.getpixel((35, 140)) == (255, 0, 0)  # the red bar survived extraction


def test_pdf_limits_apply_inside_the_child(tmp_path):
    path = corpus.korean_pdf(tmp_path / "보고서.pdf")
    loaded = load(path, path.read_bytes(), Limits(max_image_pixels=1000))
    assert figures(loaded) == []
    assert loaded.notes == [
        "skipped an embedded image on page 1: 240x160 pixels, over the 1,000-pixel limit"
    ]
    with pytest.raises(IngestError, match=r"ran past the 0\.001-second limit"):
        load(path, path.read_bytes(), Limits(pdf_timeout_s=0.001))


def test_pdf_reflow_joins_wrapped_lines_only():
    printed = "\r\n".join(
        ["첫 문장은 두 줄에", "걸쳐 있습니다.", "- 항목 하나", "- 항목 둘", "inter-", "national"]
    )
    joined = "첫 문장은 두 줄에 걸쳐 있습니다.\n- 항목 하나\n- 항목 둘 international"
    assert reflow(printed) == joined


# --- images ------------------------------------------------------------------------------------


def test_image_is_upright_rgb_and_named(tmp_path):
    path = corpus.rotated_photo(tmp_path / "photo.jpg")
    [figure] = load(path, path.read_bytes(), LIMITS).blocks
    assert figure.image.mode == "RGB" and figure.image.size == (30, 60)  # EXIF rotation applied
    assert figure.fallback == "photo.jpg"


def test_large_image_is_bounded(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (5000, 1000), "white").save(buffer, format="PNG")
    [figure] = load(tmp_path / "wide.png", buffer.getvalue(), LIMITS).blocks
    assert figure.image.size == (2048, 410)


def test_image_over_the_pixel_limit_is_refused(tmp_path):
    claim = corpus.png_claiming(tmp_path / "claim.png", 8000, 8000)
    with pytest.raises(IngestError, match="8000x8000 pixels, over the 50,000,000-pixel limit"):
        load(claim, claim.read_bytes(), LIMITS)
    bomb = corpus.png_claiming(tmp_path / "bomb.png", 30000, 30000)
    with pytest.raises(IngestError, match=r"too large to decode safely \(Image size \(900000000"):
        load(bomb, bomb.read_bytes(), LIMITS)
