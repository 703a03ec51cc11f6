"""Builders for ingestion fixtures: real files in every supported format, good and hostile.

Everything is generated at test time (nothing binary is checked in). The Korean PDF needs a
font with Hangul: Debian's ``fonts-nanum`` (``.ci/run`` installs it).
"""

from __future__ import annotations

import base64
import io
import random
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw

# A follow-up corpus: the president's term is found for "그럼 대통령은?" only with the question
# before it ("국회의원의 임기는 몇 년인가요?").
LAW = {
    "국회.txt": "국회의원의 임기는 4년으로 한다. 국회의원은 국회에서 직무상 행한 발언에 관하여 "
    "국회 외에서 책임을 지지 아니한다.",
    "대통령_임기.txt": "대통령의 임기는 5년으로 하며, 중임할 수 없다. 대통령이 궐위된 때 또는 "
    "대통령 당선자가 사망한 때에는 60일 이내에 후임자를 선거한다.",
    "대통령_통수.txt": "대통령은 국군을 통수한다.",
    "대통령_대표.txt": "대통령은 국가의 원수이며, 외국에 대하여 국가를 대표한다.",
}


def law_folder(path: Path) -> Path:
    """:data:`LAW` written as one text file per article into ``path``."""
    path.mkdir(parents=True)
    for name, text in LAW.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


NANUM = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")

KOREAN_PDF_TEXT = (
    "한빛테크 2024년 연차 보고서입니다. 올해 클라우드 노트의 매출은 작년보다 20% 늘었습니다. "
    "신규 고객은 주로 제조업과 교육 분야에서 왔습니다."
)
PDF_FIGURE_CAPTION = "그림 1. 분기별 매출 추이"
PDF_PAGE2_TEXT = "Second page in English. The Busan office opens in March."
DOCX_CAPTION = "그림 2. 조직도"
DOCX_ALT = "한빛테크 조직도 다이어그램"
SIDECAR_CAPTION = "부산 지사 개소식 사진: 테이프 커팅 장면"


def chart(color: str = "red", size: tuple[int, int] = (240, 160)) -> Image.Image:
    """A small bar chart (distinct colours give distinct stored images)."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for i, height in enumerate((40, 80, 60, 120)):
        draw.rectangle([20 + i * 50, size[1] - 10 - height, 50 + i * 50, size[1] - 10], fill=color)
    return image


def png_bytes(image: Image.Image) -> bytes:
    """The image encoded as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def korean_pdf(path: Path) -> Path:
    """Two pages: Korean text with a chart and its caption below it; an English page."""
    from fpdf import FPDF

    if not NANUM.is_file():
        msg = f"{NANUM} is missing: install Debian's fonts-nanum (apt-get install fonts-nanum)"
        raise FileNotFoundError(msg)
    pdf = FPDF()
    pdf.add_font("Nanum", fname=str(NANUM))
    pdf.set_font("Nanum", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, KOREAN_PDF_TEXT)
    pdf.image(io.BytesIO(png_bytes(chart())), x=20, y=60, w=80)
    pdf.set_xy(20, 116)
    pdf.cell(0, 8, PDF_FIGURE_CAPTION)
    pdf.add_page()
    pdf.multi_cell(0, 8, PDF_PAGE2_TEXT)
    pdf.output(str(path))
    return path


def korean_docx(path: Path) -> Path:
    """Paragraphs, a table and a picture with alt text and a caption paragraph."""
    import docx
    from docx.oxml.ns import qn

    document = docx.Document()
    document.add_heading("인사 규정", level=1)
    document.add_paragraph("연차 휴가는 입사 첫해에 최대 11일까지 사용할 수 있습니다.")
    table = document.add_table(rows=3, cols=2)
    rows = [("구분", "일수"), ("연차", "15일"), ("병가", "10일")]
    for row, (name, days) in zip(table.rows, rows, strict=True):
        row.cells[0].text = name
        row.cells[1].text = days
    document.add_paragraph("조직은 다음과 같습니다.")
    document.add_picture(io.BytesIO(png_bytes(chart("blue"))))
    properties = next(document.element.body.iter(qn("wp:docPr")))
    properties.set("descr", DOCX_ALT)
    document.add_paragraph(DOCX_CAPTION, style="Caption")
    document.save(str(path))
    return path


def html_page(path: Path) -> Path:
    """A page with chrome to drop, alt text, a data-URL figure with a figcaption and a table."""
    inline = base64.b64encode(png_bytes(chart("green"))).decode()
    path.write_text(
        f"""<!doctype html><html><head><title>제품 소개</title>
<script>var secret = "스크립트는 색인되면 안 됩니다";</script><style>p {{color: red}}</style>
</head><body><nav>홈 | 제품 | 채용</nav><main>
<h1>클라우드 노트</h1><p>클라우드 노트는 팀 협업을 위한 메모 서비스입니다.</p>
<p><img src="../../etc/passwd" alt="클라우드 노트 로고"></p>
<figure><img src="data:image/png;base64,{inline}" alt="요금제 비교 차트">
<figcaption>표 3. 요금제별 월 요금</figcaption></figure>
<table><tr><th>요금제</th><th>월 요금</th></tr><tr><td>기본</td><td>5,000원</td></tr></table>
</main><footer>저작권 한빛테크</footer></body></html>""",
        encoding="utf-8",
    )
    return path


def cp949_text(path: Path) -> Path:
    """A Korean text file in CP949, as older Windows tools save it."""
    path.write_bytes(
        "사내 식당은 오전 11시 30분부터 오후 1시 30분까지 운영합니다. "
        "메뉴는 매주 월요일에 공지됩니다.".encode("cp949")
    )
    return path


def rotated_photo(path: Path) -> Path:
    """A 60x30 JPEG whose EXIF says 'rotate 90 degrees clockwise' (orientation 6)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    chart("purple", (60, 30)).save(path, format="JPEG", exif=exif)
    return path


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny, valid-looking PNG whose header claims ``width`` x ``height`` pixels."""

    def block(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + block(b"IHDR", header) + block(b"IDAT", pixels) + block(b"IEND", b"")
    )
    return path


def single_line_text(path: Path, size: int) -> Path:
    """``size`` bytes of words on one line (no line break, no sentence end)."""
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "한빛", "노트", "보고서", "매출"]
    with path.open("w", encoding="utf-8") as handle:
        written = 0
        while written < size:
            line = " ".join(rng.choice(words) for _ in range(1000)) + " "
            handle.write(line)
            written += len(line.encode())
    return path


def good_corpus(root: Path) -> dict[str, Path]:
    """One file of every supported kind, by short name."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    chart("orange").save(root / "images" / "opening.png")
    (root / "images" / "opening.png.txt").write_text(SIDECAR_CAPTION, encoding="utf-8")
    return {
        "pdf": korean_pdf(root / "보고서.pdf"),
        "docx": korean_docx(root / "규정.docx"),
        "html": html_page(root / "제품.html"),
        "cp949": cp949_text(root / "식당.txt"),
        "image": root / "images" / "opening.png",
        "photo": rotated_photo(root / "images" / "photo.jpg"),
    }


def hostile_corpus(root: Path, outside: Path, pdf_source: Path) -> dict[str, Path]:
    """Files that must each fail alone, with their own reason."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "zero.pdf").write_bytes(b"")
    data = pdf_source.read_bytes()
    (root / "truncated.pdf").write_bytes(data[: len(data) // 2])
    png_claiming(root / "bomb.png", 30000, 30000)
    (root / "random.pdf").write_bytes(random.Random(1).randbytes(4096))
    chart().save(root / "really-png.pdf", format="PNG")
    single_line_text(root / "one-line.txt", 20 * 1024 * 1024)
    outside.write_text("top secret", encoding="utf-8")
    (root / "escape.txt").symlink_to(outside)
    return {p.name: p for p in root.iterdir()}
