"""HWP 5, HWPX, XLSX, PPTX and OCR loaders on files made here; content signatures; image budget."""

from __future__ import annotations

import base64
import io
import re
import struct

import pytest
from PIL import Image

from devkit import corpus as corpus
from devkit import documents as fx
from ingest.file_limits import Limits
from ingest.formats import check_content
from ingest.loaders import Figure, Segment, load
from rag.errors import IngestError

LIMITS = Limits()
# Code units an HWP control leaves behind when decoded as text (and what its payload turns into).
_CONTROL_LEFTOVER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u4e00-\u9fff\u3400-\u4dbf]")


def segments(loaded, kind: str = "text") -> list[Segment]:
    return [b for b in loaded.blocks if isinstance(b, Segment) and b.kind == kind]


def figures(loaded) -> list[Figure]:
    return [b for b in loaded.blocks if isinstance(b, Figure)]


# --- HWP 5 and HWPX ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".hwp", ".hwpx"])
def test_hancom_text_tables_and_captioned_picture(tmp_path, suffix: str):
    path = fx.hancom_document(tmp_path / f"규정{suffix}")
    loaded = load(path, path.read_bytes(), LIMITS)
    prose = "\n".join(s.text for s in segments(loaded))
    for sentence in (fx.HWP_ARTICLE, fx.HWP_BODY, fx.HWP_INTRO, fx.HWP_LAST):
        assert sentence in prose
    assert f"{fx.HWP_TITLE}\t{fx.HWP_ARTICLE}" in prose  # the tab control kept as a tab
    [table] = segments(loaded, "table")
    assert table.text == "\n".join(" | ".join(row) for row in fx.HWP_ROWS)
    [figure] = figures(loaded)
    assert figure.captions == (fx.HWP_CAPTION,)
    assert figure.image.size == (240, 160) and figure.image.getpixel((35, 140)) == (0, 0, 128)
    assert fx.HWP_CAPTION not in prose  # the caption is on the image only, not a second source
    kinds = [(b.kind if isinstance(b, Segment) else "figure") for b in loaded.blocks]
    assert kinds == ["text", "table", "text", "figure", "text"]  # reading order


@pytest.mark.parametrize("suffix", [".hwp", ".hwpx"])
def test_hancom_control_characters_never_reach_the_text(tmp_path, suffix: str):
    path = fx.hancom_document(tmp_path / f"규정{suffix}")
    loaded = load(path, path.read_bytes(), LIMITS)
    for segment in segments(loaded) + segments(loaded, "table"):
        assert not _CONTROL_LEFTOVER.search(segment.text), repr(segment.text)


@pytest.mark.parametrize(
    ("flag", "reason"),
    [
        (0x2, "HWP document is password-protected"),
        (0x4, r"HWP distribution document \(배포용 문서\): its text is encrypted"),
        (0x10, "HWP document is DRM-protected"),
    ],
)
def test_protected_hwp_fails_with_that_reason(tmp_path, flag: int, reason: str):
    path = fx.with_hwp_flags(fx.hancom_document(tmp_path / "보호.hwp"), flag)
    with pytest.raises(IngestError, match=reason):
        load(path, path.read_bytes(), LIMITS)


def test_hwp_parsing_runs_in_the_child_under_the_parser_limits(tmp_path):
    path = fx.hancom_document(tmp_path / "규정.hwp")
    with pytest.raises(IngestError, match=r"HWP parser ran past the 0\.001-second limit"):
        load(path, path.read_bytes(), Limits(pdf_timeout_s=0.001))
    hwpx = fx.hancom_document(tmp_path / "규정.hwpx")
    with pytest.raises(IngestError, match=r"HWPX parser ran past the 0\.001-second limit"):
        load(hwpx, hwpx.read_bytes(), Limits(pdf_timeout_s=0.001))


def test_legacy_office_file_named_hwp_and_hwp3_are_named(tmp_path):
    fake = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    with pytest.raises(IngestError, match="not a readable HWP 5 document"):
        load(tmp_path / "a.hwp", fake, LIMITS)
    with pytest.raises(IngestError, match=r"HWP 3 .*save it as \.hwpx"):
        load(tmp_path / "b.hwp", b"HWP Document File V3.00 \x1a\x01\x02" + b"\x00" * 100, LIMITS)


# --- XLSX ----------------------------------------------------------------------------------------


def test_xlsx_sheets_become_labelled_tables_with_the_header_in_every_block(tmp_path):
    path = fx.workbook(tmp_path / "재고.xlsx")
    loaded = load(path, path.read_bytes(), LIMITS)
    tables = segments(loaded, "table")
    assert len(tables) > 1  # 60 rows do not fit one block
    for table in tables:
        first, *rows = table.text.split("\n")
        assert re.fullmatch(r"\[재고!(\d+):(\d+)\] 품목 \| 코드 \| 수량 \| 비고 \| 합계", first)
        start, end = map(int, re.findall(r"\d+", first.split("]")[0]))
        assert rows[0].startswith(f"볼트 {start}호 | ") and rows[-1].startswith(f"볼트 {end}호 | ")
    covered = [int(n) for t in tables for n in re.findall(r"볼트 (\d+)호", t.text)]
    assert covered == list(range(2, 62))  # every row once, in order
    [coded] = [t for t in tables if fx.XLSX_CODE in t.text]
    assert f"볼트 42호 | {fx.XLSX_CODE} | 420 | 정상 입고된 품목입니다" in coded.text
    text = "\n".join(t.text for t in tables)
    assert "SUM(" not in text and "비밀 단가" not in text  # no formula text, no hidden sheet
    assert loaded.notes == ["skipped hidden sheet '내부'", "skipped empty sheet '빈 시트'"]


def test_xlsx_too_many_rows_fails_while_reading(tmp_path):
    path = fx.workbook(tmp_path / "큰.xlsx", rows=2000)
    with pytest.raises(
        IngestError, match=r"sheet '재고' makes more than 5 chunks \(ingest\.max_chunks"
    ):
        load(path, path.read_bytes(), Limits(max_chunks_per_file=5))


def test_xlsx_zip_bomb_is_refused_before_unpacking(tmp_path):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as huge:
            for _ in range(600):
                huge.write(bytes(1024 * 1024))
    with pytest.raises(IngestError, match=r"XLSX unpacks to 629,145,\d+ bytes, over the"):
        load(tmp_path / "bomb.xlsx", buffer.getvalue(), LIMITS)


# --- PPTX ----------------------------------------------------------------------------------------


def test_pptx_slides_are_pages_with_notes_tables_and_pictures(tmp_path):
    path = fx.deck(tmp_path / "전략.pptx")
    loaded = load(path, path.read_bytes(), LIMITS)
    pages = {s.page: s.text for s in segments(loaded)}
    assert pages[1].startswith(f"{fx.PPTX_TITLE}\n신규 고객 확보에 집중합니다.")
    assert fx.PPTX_NOTES_CODE in pages[1]  # speaker notes are part of the slide
    assert pages[2] == "지역별 목표" and pages[3] == "분기별 실적"
    [table] = segments(loaded, "table")
    assert (table.page, table.text) == (2, "지역 | 목표\n서울 | 120억\n부산 | 45억")
    [figure] = figures(loaded)
    assert figure.page == 3 and figure.captions == (fx.PPTX_ALT, "분기별 실적")


# --- legacy formats and content signatures -------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "modern"), [(".doc", ".docx"), (".xls", ".xlsx"), (".ppt", ".pptx")]
)
def test_legacy_office_suffixes_suggest_the_modern_format(suffix: str, modern: str):
    with pytest.raises(IngestError, match=f"legacy Office file {suffix}: save it as {modern}"):
        check_content(suffix, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)


@pytest.mark.parametrize(
    "text",
    [
        "MZ세대 트렌드 보고서\n요즘 세대는 짧은 영상을 선호합니다.",
        "메모: 이 파일은 %PDF-1.7 헤더를 설명합니다.",
        "GIF 애니메이션 만들기",
        "PK 전 승부차기 결과",
    ],
)
def test_ordinary_korean_text_is_not_taken_for_a_binary(text: str):
    assert check_content(".md", text.encode()) == "markdown"


def test_real_signatures_are_still_caught():
    stub = bytearray(
        b"MZ" + b"\x00" * 0x3A + struct.pack("<I", 0x40) + b"PE\x00\x00" + b"\x00" * 64
    )
    with pytest.raises(IngestError, match="content is an archive or program, not text"):
        check_content(".txt", bytes(stub))
    with pytest.raises(IngestError, match="not a PDF: no %PDF- header at the start"):
        check_content(".pdf", b"see %PDF-1.7 below\n%PDF-1.7\n...")
    assert check_content(".pdf", b"%PDF-1.7\n%%EOF") == "pdf"


# --- the per-file image budget, counted before decoding ------------------------------------------


def markdown_of(images: list[bytes]) -> bytes:
    lines = [
        f"![그림 {i}](data:image/png;base64,{base64.b64encode(data).decode()})"
        for i, data in enumerate(images)
    ]
    return ("# 그림 모음\n" + "\n".join(lines)).encode()


def test_images_past_the_count_are_not_decoded(tmp_path):
    good = corpus.png_bytes(corpus.chart())
    broken = corpus.png_claiming(tmp_path / "x.png", 300, 300).read_bytes()  # fails if decoded
    loaded = load(
        tmp_path / "a.md", markdown_of([good, good, broken, broken]), Limits(max_images_per_file=2)
    )
    assert len(figures(loaded)) == 2
    assert loaded.notes == ["skipped images after the first 2 (ingest.max_images_per_file)"]


def test_decoded_pixels_per_file_are_budgeted(tmp_path):
    big = corpus.png_bytes(Image.new("RGB", (2000, 2000), "white"))  # 4 MP each, tiny packed
    loaded = load(
        tmp_path / "a.md", markdown_of([big] * 5), Limits(max_image_pixels_per_file=10_000_000)
    )
    assert len(figures(loaded)) == 2
    assert set(loaded.notes) == {
        "skipped images past 10,000,000 decoded pixels in this file "
        "(ingest.max_image_pixels_per_file)"
    }


# --- HTML nested past the parser's depth limit ---------------------------------------------------


def test_html_nested_past_the_parser_limit_is_read_completely(tmp_path):
    deep = "<div>" * 100_000 + "깊은 곳의 문장입니다." + "</div>" * 100_000
    html = f"<html><body><header>메뉴</header><p>앞의 문장입니다.</p>{deep}<p>뒤의 문장입니다.</p>"
    loaded = load(tmp_path / "deep.html", f"{html}</body></html>".encode(), LIMITS)
    [text] = segments(loaded)
    assert text.text == "앞의 문장입니다.\n깊은 곳의 문장입니다.\n뒤의 문장입니다."
    assert loaded.notes == ["nested deeper than the HTML parser's limit: read as flat text"]


# --- captions stored once ------------------------------------------------------------------------


def test_docx_caption_is_not_also_prose(tmp_path):
    path = corpus.korean_docx(tmp_path / "규정.docx")
    loaded = load(path, path.read_bytes(), LIMITS)
    [figure] = figures(loaded)
    assert corpus.DOCX_CAPTION in figure.captions
    assert not any(corpus.DOCX_CAPTION in s.text for s in segments(loaded))


def test_pdf_caption_does_not_take_the_end_of_the_paragraph_above(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("Nanum", fname=str(corpus.NANUM))
    pdf.set_font("Nanum", size=11)
    pdf.add_page()
    paragraph = "The quarterly figures were reviewed and released after the team lead's approval."
    pdf.multi_cell(0, 6, paragraph)
    pdf.image(io.BytesIO(corpus.png_bytes(corpus.chart())), x=10, y=pdf.get_y() + 1, w=80)
    pdf.set_xy(10, pdf.get_y() + 56)
    pdf.cell(0, 6, corpus.PDF_FIGURE_CAPTION)
    path = tmp_path / "caption.pdf"
    pdf.output(str(path))
    loaded = load(path, path.read_bytes(), LIMITS)
    [figure] = figures(loaded)
    assert figure.captions == (corpus.PDF_FIGURE_CAPTION,)
    [page] = segments(loaded)
    assert page.text == paragraph  # the caption is on the image, not in the text too


# --- OCR -----------------------------------------------------------------------------------------


def test_screenshot_is_found_by_the_words_in_it(tmp_path):
    path = fx.screenshot(tmp_path / "오류.png")
    loaded = load(path, path.read_bytes(), LIMITS)
    [figure] = figures(loaded)
    caption = " ".join(figure.captions)
    for word in ("오류", "E-4512", "결제", "서버에", "연결할", "다시", "시도해"):
        assert word in caption, caption
    assert figure.fallback == "오류.png" and loaded.notes == [] and loaded.run_notes == []


def test_scanned_pdf_pages_are_read_with_their_page_numbers(tmp_path):
    path = fx.scanned_pdf(tmp_path / "법령.pdf")
    loaded = load(path, path.read_bytes(), LIMITS)
    pages = {s.page: s.text for s in segments(loaded)}
    assert sorted(pages) == [1, 2] and figures(loaded) == []  # the scans are not image chunks
    assert "제15조" in pages[1] and "정보주체의 동의" in pages[1]
    assert "제16조" in pages[2] and "입증책임" in pages[2]


def test_ocr_off_leaves_a_scan_unread_with_the_reason(tmp_path):
    path = fx.scanned_pdf(tmp_path / "법령.pdf")
    with pytest.raises(IngestError, match=r"pages have no text layer; OCR is off"):
        load(path, path.read_bytes(), Limits(ocr="off"))
    shot = fx.screenshot(tmp_path / "오류.png")
    [figure] = load(shot, shot.read_bytes(), Limits(ocr="off")).blocks
    assert figure.captions == ()


def test_missing_language_data_is_one_note_for_the_run_and_the_rest_loads(tmp_path):
    limits = Limits(ocr_tessdata=str(tmp_path))  # a folder with no language data
    shots = [fx.screenshot(tmp_path / f"{name}.png") for name in ("a", "b")]
    loaded = [load(p, p.read_bytes(), limits) for p in shots]
    assert all(figures(one) and one.notes == [] for one in loaded)  # the images still load
    [note] = {n for one in loaded for n in one.run_notes}  # the same line, reported once per run
    assert note.startswith("OCR is unavailable: Tesseract has no kor+eng language data in ")
    assert "(install tesseract-ocr-kor)" in note
    scan = fx.scanned_pdf(tmp_path / "법령.pdf")
    with pytest.raises(IngestError, match="OCR is unavailable"):
        load(scan, scan.read_bytes(), limits)


def test_a_page_that_fails_ocr_costs_only_that_page(tmp_path):
    path = fx.mixed_pdf(tmp_path / "섞인.pdf")
    loaded = load(path, path.read_bytes(), Limits(ocr_timeout_s=0.001))
    assert [(s.page, s.text) for s in segments(loaded)] == [
        (1, "이 문서의 첫 쪽은 글자 층이 있는 보통 쪽입니다.")
    ]
    assert loaded.notes == [
        "skipped OCR of page 2: Tesseract ran past the 0.001-second limit (ingest.ocr.timeout_s)"
    ]
    read = load(path, path.read_bytes(), LIMITS)
    assert [s.page for s in segments(read)] == [1, 2] and "제15조" in segments(read)[1].text


def test_ocr_always_replaces_the_text_layer(tmp_path):
    path = corpus.korean_pdf(tmp_path / "보고서.pdf")
    loaded = load(path, path.read_bytes(), Limits(ocr="always"))
    pages = {s.page: s.text for s in segments(loaded)}
    assert "한빛테크" in pages[1] and "Busan office" in pages[2]
    assert figures(loaded) == []  # an OCR'd page is a scan: its images are not kept


def test_a_missing_language_is_named(tmp_path):
    shot = fx.screenshot(tmp_path / "오류.png")
    loaded = load(shot, shot.read_bytes(), Limits(ocr_languages="kor+zzz"))
    assert loaded.run_notes == [
        "OCR is unavailable: Tesseract has no zzz language data in "
        "/usr/share/tesseract-ocr/5/tessdata (install tesseract-ocr-zzz); "
        "image files and scanned PDF pages were indexed without their text"
    ]


@pytest.mark.parametrize("suffix", [".hwp", ".hwpx"])
def test_broken_hancom_files_fail_in_one_line(tmp_path, suffix: str):
    data = fx.hancom_document(tmp_path / f"규정{suffix}").read_bytes()
    for broken in (data[: len(data) // 2], data[:600] + bytes(len(data) - 600)):
        with pytest.raises(IngestError) as failure:
            load(tmp_path / f"broken{suffix}", broken, LIMITS)
        assert "\n" not in str(failure.value) and "Traceback" not in str(failure.value)


@pytest.mark.parametrize("suffix", [".hwp", ".hwpx"])
def test_hancom_pictures_past_the_count_are_not_read(tmp_path, suffix: str):
    path = fx.hancom_document(tmp_path / f"규정{suffix}")
    loaded = load(path, path.read_bytes(), Limits(max_images_per_file=0))
    assert figures(loaded) == []
    assert loaded.notes == ["skipped images after the first 0 (ingest.max_images_per_file)"]
    assert any(fx.HWP_CAPTION in s.text for s in segments(loaded))  # no picture: its words stay
