"""Builders for the office, Hancom and scanned-page fixtures, all made at test time.

HWP 5 and HWPX come from python-hwpx (an independent writer, so the readers are checked against
another implementation), XLSX from openpyxl, PPTX from python-pptx, and rendered pages,
screenshots and scanned PDFs from Pillow with Debian's NanumGothic (``fonts-nanum``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from devkit.corpus import NANUM, chart, png_bytes

HWP_TITLE = "인사 규정"
HWP_ARTICLE = "제1조 (목적) 이 규정은 연차 휴가의 사용 기준을 정한다."
HWP_BODY = "연차 휴가는 입사 첫해에 최대 11일까지 사용할 수 있습니다."
HWP_ROWS = (("구분", "일수"), ("연차", "15일"), ("병가", "10일"))
HWP_INTRO = "조직은 다음과 같습니다."
HWP_CAPTION = "그림 2. 한빛테크 조직도"
HWP_LAST = "부칙: 이 규정은 2024년 3월 1일부터 시행한다."

XLSX_CODE = "BX-7731-KR"
PPTX_TITLE = "2024년 영업 전략"
PPTX_NOTES_CODE = "PX-2291-Q3"
PPTX_ALT = "분기별 영업 실적 막대 그래프"

SCAN_PAGES = (
    (
        "개인정보 보호법 제15조는 개인정보의 수집과 이용에 관하여 정한다.",
        "개인정보처리자는 정보주체의 동의를 받은 경우 개인정보를 수집할 수 있다.",
        "수집 목적의 범위에서 이용할 수 있으며 동의를 받을 때에는 이를 알려야 한다.",
    ),
    (
        "제16조는 개인정보의 수집 제한을 규정한다.",
        "개인정보처리자는 목적에 필요한 최소한의 개인정보를 수집하여야 한다.",
        "최소한의 개인정보 수집이라는 입증책임은 개인정보처리자가 부담한다.",
    ),
)
SCREENSHOT_LINES = (
    "오류 코드 E-4512: 결제 서버에 연결할 수 없습니다.",
    "잠시 후 다시 시도해 주세요.",
)


def hancom_document(path: Path) -> Path:
    """An HWP 5 (``.hwp``) or HWPX (``.hwpx``) document, by the path's suffix.

    Paragraphs (one with a tab, an inline control), a table, a picture whose caption is the
    paragraph after it, and a closing paragraph.
    """
    from hwpx import HwpxDocument

    document = HwpxDocument.new()
    document.add_paragraph(f"{HWP_TITLE}\t{HWP_ARTICLE}")
    document.add_paragraph(HWP_BODY)
    table = document.add_table(rows=len(HWP_ROWS), cols=2)
    for row, cells in enumerate(HWP_ROWS):
        for column, text in enumerate(cells):
            table.set_cell_text(row, column, text)
    document.add_paragraph(HWP_INTRO)
    document.add_picture(png_bytes(chart("navy")), "png", width_mm=60, height_mm=40)
    document.add_paragraph(HWP_CAPTION)
    document.add_paragraph(HWP_LAST)
    document.save_to_path(str(path))
    return path


def with_hwp_flags(path: Path, flags: int) -> Path:
    """Set FileHeader flag bits of an HWP 5 file in place (as Hancom does when protecting it)."""
    import struct

    import olefile

    with olefile.OleFileIO(str(path), write_mode=True) as ole:
        header = bytearray(ole.openstream("FileHeader").read())
        (current,) = struct.unpack_from("<I", header, 36)
        struct.pack_into("<I", header, 36, current | flags)
        ole.write_stream("FileHeader", bytes(header))
    return path


def workbook(path: Path, rows: int = 60) -> Path:
    """A stock sheet (header + ``rows`` rows, a code in row 42), a hidden and an empty sheet."""
    import openpyxl

    book = openpyxl.Workbook()
    stock = book.active
    stock.title = "재고"
    stock.append(["품목", "코드", "수량", "비고"])
    for number in range(2, rows + 2):
        code = XLSX_CODE if number == 42 else f"AA-{number:04d}"
        stock.append([f"볼트 {number}호", code, number * 10, "정상 입고된 품목입니다"])
    stock["E1"] = "합계"
    stock["E2"] = "=SUM(C2:C61)"  # no cached value: openpyxl writes none
    hidden = book.create_sheet("내부")
    hidden.append(["비밀 단가", "1,000원"])
    hidden.sheet_state = "hidden"
    book.create_sheet("빈 시트")
    book.save(path)
    return path


def deck(path: Path) -> Path:
    """Three slides: title + bullets + speaker notes; a table; a picture with alt text."""
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    first = presentation.slides.add_slide(presentation.slide_layouts[1])
    first.shapes.title.text = PPTX_TITLE
    first.placeholders[1].text_frame.text = "신규 고객 확보에 집중합니다."
    first.notes_slide.notes_text_frame.text = (
        f"발표자 메모: 내부 프로젝트 코드는 {PPTX_NOTES_CODE}입니다."
    )
    second = presentation.slides.add_slide(presentation.slide_layouts[5])
    second.shapes.title.text = "지역별 목표"
    table = second.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for row, cells in enumerate((("지역", "목표"), ("서울", "120억"), ("부산", "45억"))):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    third = presentation.slides.add_slide(presentation.slide_layouts[5])
    third.shapes.title.text = "분기별 실적"
    picture = third.shapes.add_picture(io.BytesIO(png_bytes(chart("teal"))), Inches(1), Inches(2))
    picture._element.nvPicPr.cNvPr.set("descr", PPTX_ALT)
    presentation.save(str(path))
    return path


# Twelve slides, each (title, body, speaker notes) with one fact, and a question about it that
# does not repeat its words; the fact of the last two slides is in the notes only.
SLIDES = (
    ("회사 소개", "한빛테크는 2010년 대전에서 설립된 산업용 센서 회사입니다.", ""),
    ("조직 구성", "연구소 인원은 모두 42명이며 그중 박사는 9명입니다.", ""),
    ("3분기 실적", "3분기 매출은 128억 원으로 작년 같은 기간보다 17% 늘었습니다.", ""),
    ("신제품 로드맵", "온도 센서 TX-9는 2025년 4월에 출시할 예정입니다.", ""),
    ("해외 진출", "베트남 하노이에 첫 해외 법인을 세웁니다.", "현지 파트너는 미린 상사입니다."),
    ("품질 관리", "제품 불량률은 0.3%에서 0.08%로 낮아졌습니다.", ""),
    ("채용 계획", "내년에 소프트웨어 개발자 15명을 새로 뽑습니다.", ""),
    ("복지 제도", "모든 직원은 해마다 건강검진 비용 50만 원을 지원받습니다.", ""),
    ("보안 정책", "사내 계정 비밀번호는 90일마다 바꿔야 합니다.", ""),
    ("고객 지원", "고객센터는 평일 오전 9시부터 오후 6시까지 운영합니다.", ""),
    ("친환경 경영", "공장 설비를 점검합니다.", "2030년까지 공장 전력의 60%를 태양광으로 얻습니다."),
    ("향후 과제", "물류 창고를 옮깁니다.", "평택으로 옮기는 비용은 약 30억 원으로 추정합니다."),
)
SLIDE_QUESTIONS = (
    "한빛테크는 언제 어느 도시에서 세워졌나요?",
    "연구소에 박사 학위를 가진 사람은 몇 명인가요?",
    "3분기 매출은 전년 대비 얼마나 증가했나요?",
    "TX-9는 언제 나오나요?",
    "첫 해외 법인은 어느 나라에 두나요?",
    "불량률은 얼마나 줄었나요?",
    "개발자를 몇 명 채용할 계획인가요?",
    "건강검진 지원금은 얼마인가요?",
    "비밀번호는 얼마나 자주 변경해야 하나요?",
    "고객센터는 몇 시까지 문을 여나요?",
    "태양광으로 전력을 얼마나 충당할 계획인가요?",
    "창고 이전 비용은 얼마로 예상하나요?",
)


def slide_deck(path: Path, slides: Sequence[tuple[str, str, str]] = SLIDES) -> Path:
    """A deck of one slide per (title, body, notes): title and body layout, notes if any."""
    from pptx import Presentation

    presentation = Presentation()
    for title, body, notes in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text_frame.text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    presentation.save(str(path))
    return path


# The twelve facts of SLIDES as a report in three chapters of four sections, a section per fact.
CHAPTERS = ("제1장 회사 현황", "제2장 사업 계획", "제3장 운영 원칙")
# What every section of the report says after its fact: sections as long as a real report's,
# so each is its own chunk (sibling sections of a few words are packed together).
SECTION_CLOSING = (
    "이 절의 내용은 2024년 정기 이사회에서 승인되었으며 다음 개정 때까지 모든 부서에 "
    "적용됩니다. 자세한 문의는 경영지원팀 담당자에게 하시고, 관련 서식과 지난 자료는 사내 "
    "포털의 문서함에서 내려받을 수 있습니다."
)


def section_path(fact: int) -> str:
    """The heading path of the section that holds fact ``fact`` (0-based) of :data:`SLIDES`."""
    return f"{CHAPTERS[fact // 4]} > {SLIDES[fact][0]}"


def sectioned_report(path: Path) -> Path:
    """:data:`SLIDES` as a DOCX, HWP or HWPX report, by the path's suffix.

    Chapter headings (level 1), a section heading per fact (level 2), then the fact and
    :data:`SECTION_CLOSING`.
    """
    texts = [(title, f"{body} {notes} {SECTION_CLOSING}") for title, body, notes in SLIDES]
    if path.suffix == ".docx":
        import docx

        document = docx.Document()
        for fact, (title, text) in enumerate(texts):
            if fact % 4 == 0:
                document.add_heading(CHAPTERS[fact // 4], 1)
            document.add_heading(title, 2)
            document.add_paragraph(text)
        document.save(str(path))
        return path
    from hwpx import HwpxDocument

    hancom = HwpxDocument.new()
    for fact, (title, text) in enumerate(texts):
        if fact % 4 == 0:
            hancom.add_heading(CHAPTERS[fact // 4], level=1)
        hancom.add_heading(title, level=2)
        hancom.add_paragraph(text, para_pr_id_ref=0, style_id_ref=0)
    hancom.save_to_path(str(path))
    return path


def paged_pdf(path: Path) -> Path:
    """:data:`SLIDES` as a PDF of one page per fact (its title and words), text layer only."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("Nanum", fname=str(NANUM))
    pdf.set_font("Nanum", size=12)
    for title, body, notes in SLIDES:
        pdf.add_page()
        pdf.multi_cell(0, 8, f"{title}\n{body} {notes}".strip())
    pdf.output(str(path))
    return path


def line_height(font_px: int) -> int:
    """The distance between the tops of two lines of :func:`rendered_text`."""
    return int(font_px * 1.8)


def rendered_text(
    lines: tuple[str, ...], *, font_px: int, width: int, margin: int = 40
) -> Image.Image:
    """Black text on white, one line per entry, in NanumGothic at ``font_px``."""
    font = ImageFont.truetype(str(NANUM), font_px)
    height = margin * 2 + line_height(font_px) * len(lines)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((margin, margin + index * line_height(font_px)), line, font=font, fill=0)
    return image


def screenshot(path: Path) -> Path:
    """A small UI-like screenshot with 15-px text (smaller than Tesseract likes)."""
    text = rendered_text(SCREENSHOT_LINES, font_px=15, width=520, margin=16).convert("RGB")
    framed = Image.new("RGB", (text.width, text.height + 30), (230, 230, 240))
    framed.paste(text, (0, 30))
    framed.save(path)
    return path


def scanned_pdf(
    path: Path,
    pages: Sequence[tuple[str, ...]] = SCAN_PAGES,
    *,
    dpi: int = 200,
    tilt: float = 0.5,
) -> Path:
    """Image-only A4 pages (no text layer) of ``pages``' lines, each tilted ``tilt`` degrees.

    The text is 12 pt at ``dpi`` with one-inch margins (:func:`rendered_text`).
    """
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    for lines in pages:
        page = rendered_text(
            lines, font_px=round(12 / 72 * dpi), width=round(8.27 * dpi), margin=dpi
        )
        page = page.rotate(tilt, resample=Image.Resampling.BICUBIC, fillcolor=255)
        pdf.add_page()
        pdf.image(io.BytesIO(png_bytes(page.convert("RGB"))), x=0, y=0, w=pdf.w)
    pdf.output(str(path))
    return path


def mixed_pdf(path: Path) -> Path:
    """Page 1 has a text layer; page 2 is a scan of :data:`SCAN_PAGES`' first page."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.add_font("Nanum", fname=str(NANUM))
    pdf.set_font("Nanum", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 16, "이 문서의 첫 쪽은 글자 층이 있는 보통 쪽입니다.")
    scan = rendered_text(SCAN_PAGES[0], font_px=33, width=1654, margin=200)
    pdf.add_page()
    pdf.image(io.BytesIO(png_bytes(scan.convert("RGB"))), x=0, y=0, w=pdf.w)
    pdf.output(str(path))
    return path


def many_big_images_markdown(path: Path, count: int = 780, side: int = 7000) -> Path:
    """Markdown with ``count`` inline ``side`` x ``side`` bilevel PNGs (49 MP each decoded)."""
    import base64

    image = base64.b64encode(png_bytes(Image.new("1", (side, side), 1))).decode()  # ~8 KB packed
    with path.open("w", encoding="utf-8") as handle:
        handle.write("# 그림이 아주 많은 문서\n")
        for index in range(count):
            handle.write(f"그림 {index}\n![그림 {index}](data:image/png;base64,{image})\n")
    return path
