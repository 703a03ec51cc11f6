"""Crafted files that are small on disk and enormous to parse, made on the spot.

Each is a real, well-formed file of its format (built by the format's own writer, then one part
repeated a unit millions of times), so a reader cannot refuse it as broken: only counting what
it reads (``ingest.max_units_per_file``) or its time and memory limits can stop it. The default
sizes are those of the hostile review (issue 26): a workbook of 27 million shared strings or 33
million empty rows, a DOCX of 8 million empty paragraphs, and their PPTX, HWPX, HTML and
Markdown equivalents; tests pass smaller counts where the size does not matter.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from devkit import documents as fx

_CHUNK_UNITS = 100_000  # units written per call while a part streams into the package


def _repeated(path: Path, part: str, marker: bytes, unit: bytes, count: int) -> Path:
    """Rewrite ``path`` (a ZIP package) with ``unit`` x ``count`` inserted before ``marker``.

    The part streams into the package, so a part of hundreds of megabytes never sits in memory.
    """
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    if not any(info.filename == part and marker in data for info, data in entries):
        msg = f"{path.name} has no {part} holding {marker!r}"
        raise ValueError(msg)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        for info, data in entries:
            if info.filename != part:
                package.writestr(info, data, compress_type=info.compress_type)
                continue
            at = data.index(marker)
            with package.open(part, "w", force_zip64=True) as stream:
                stream.write(data[:at])
                block = unit * _CHUNK_UNITS
                for _ in range(count // _CHUNK_UNITS):
                    stream.write(block)
                stream.write(unit * (count % _CHUNK_UNITS))
                stream.write(data[at:])
    return path


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_WORKBOOK_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PACKAGE}"><Relationship Id="rId1" '
        f'Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}"><sheets>'
        '<sheet name="시트" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PACKAGE}">'
        f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/worksheet" '
        'Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_RELATIONSHIPS}/sharedStrings" '
        'Target="sharedStrings.xml"/></Relationships>'
    ),
    "xl/worksheets/sheet1.xml": (
        f'<worksheet xmlns="{_MAIN}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        "</sheetData></worksheet>"
    ),
    "xl/sharedStrings.xml": f'<sst xmlns="{_MAIN}"><si><t>값</t></si></sst>',
}


def _one_cell_workbook(path: Path) -> Path:
    """A workbook of one sheet whose cell A1 is the shared string ``값``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in _WORKBOOK_PARTS.items():
            package.writestr(name, '<?xml version="1.0" encoding="UTF-8"?>\n' + text)
    return path


def xlsx_shared_strings(path: Path, count: int = 27_000_000) -> Path:
    """A workbook whose shared-strings table holds ``count`` empty strings (27M: ~0.7 MB)."""
    return _repeated(
        _one_cell_workbook(path), "xl/sharedStrings.xml", b"</sst>", b"<si><t/></si>", count
    )


def xlsx_empty_rows(path: Path, count: int = 33_000_000) -> Path:
    """A workbook whose sheet holds ``count`` empty rows after its one cell (33M: ~0.2 MB)."""
    return _repeated(
        _one_cell_workbook(path), "xl/worksheets/sheet1.xml", b"</sheetData>", b"<row/>", count
    )


def docx_empty_paragraphs(path: Path, count: int = 8_000_000) -> Path:
    """A Word document of ``count`` empty paragraphs before one sentence (8M: ~50 KB)."""
    import docx

    document = docx.Document()
    document.add_paragraph("끝 문단입니다.")
    document.save(str(path))
    return _repeated(path, "word/document.xml", b"<w:p>", b"<w:p/>", count)


def pptx_empty_paragraphs(path: Path, count: int = 8_000_000) -> Path:
    """A one-slide deck whose title holds ``count`` empty paragraphs (8M: ~50 KB)."""
    from pptx import Presentation

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "빈 문단이 아주 많은 슬라이드"
    deck.save(str(path))
    return _repeated(path, "ppt/slides/slide1.xml", b"<a:p>", b"<a:p/>", count)


def hwpx_empty_paragraphs(path: Path, count: int = 8_000_000) -> Path:
    """:func:`devkit.documents.hancom_document` as HWPX with ``count`` empty paragraphs first."""
    return _repeated(
        fx.hancom_document(path), "Contents/section0.xml", b"<hp:p ", b"<hp:p/>", count
    )


def html_elements(path: Path, count: int = 16_000_000) -> Path:
    """A page of ``count`` unclosed ``<p>`` elements (16M: 48 MB, under the 50 MB file cap)."""
    with path.open("wb") as page:
        page.write(b"<html><body>")
        block = b"<p>" * _CHUNK_UNITS
        for _ in range(count // _CHUNK_UNITS):
            page.write(block)
        page.write(b"<p>" * (count % _CHUNK_UNITS) + "끝 문단입니다.".encode())
    return path


def markdown_empty_lines(path: Path, count: int = 45_000_000) -> Path:
    """Markdown of a heading, ``count`` empty lines and a sentence (45M: 45 MB)."""
    with path.open("wb") as text:
        text.write("# 빈 줄\n".encode())
        block = b"\n" * (_CHUNK_UNITS * 10)
        for _ in range(count // len(block)):
            text.write(block)
        text.write(b"\n" * (count % len(block)) + "끝 문장입니다.\n".encode())
    return path


def noise_image(path: Path, size: tuple[int, int] = (1654, 2339)) -> Path:
    """A PNG of noise the size of an A4 scan at 200 dpi: Tesseract spends its whole limit on it."""
    import numpy as np
    from PIL import Image

    width, height = size
    noise = np.random.default_rng(26).integers(0, 256, (height, width), dtype=np.uint8)
    Image.fromarray(noise, "L").save(path)
    return path


def noise_scan(path: Path, pages: int = 12, *, text_page: bool = True) -> Path:
    """A PDF of ``pages`` scanned pages of noise (each costs Tesseract its whole page limit).

    With ``text_page`` a first page with a text layer comes before them, so the file is
    ingested by its text whatever OCR makes of the rest.
    """
    import io

    import numpy as np
    from fpdf import FPDF
    from PIL import Image

    from devkit.corpus import NANUM, png_bytes

    pdf = FPDF(unit="pt", format="A4")
    if text_page:
        pdf.add_font("Nanum", fname=str(NANUM))
        pdf.set_font("Nanum", size=12)
        pdf.add_page()
        pdf.multi_cell(0, 16, "이 문서의 첫 쪽만 글자 층이 있고 나머지는 잡음을 스캔한 쪽입니다.")
    noise = np.random.default_rng(26).integers(0, 256, (600, 424), dtype=np.uint8)
    page = png_bytes(Image.fromarray(noise, "L").convert("RGB"))
    for _ in range(pages):
        pdf.add_page()
        pdf.image(io.BytesIO(page), x=0, y=0, w=pdf.w, h=pdf.h)
    pdf.output(str(path))
    return path
