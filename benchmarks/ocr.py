"""OCR quality and speed on rendered Korean and English pages: our settings vs Tesseract's defaults.

Pages are rendered here (NanumGothic 11 pt on A4 at 300 dpi, sentences from the Korean-English
news dev set in ``../shared/datasets``), then degraded: clean, rotated 0.5 degrees, blurred
(Gaussian, 1 px at 200 dpi). A scanned PDF page reaches Tesseract rendered at ``ocr_dpi``, so
each configuration first resamples the 300-dpi scan to its resolution. Screenshots are short UI
lines at 13 and 15 px. Character accuracy = 1 - (Levenshtein distance / reference length), on
white-space-normalized text.

Configurations, all in the same run: ``defaults`` (pytesseract, its default ``--psm 3``, 300
dpi, Tesseract's own OpenMP threads); ``chosen`` (``ingest.extractors.ocr.recognize``: tesserocr,
``--psm 6``, 200 dpi, small text upscaled, one thread per process) and the same at 300 and
150 dpi, after a projection-profile deskew, and through pytesseract instead of tesserocr.
Screenshots compare upscaling targets. Throughput: the chosen settings with one process per
core, the defaults one page at a time, and a whole image-only PDF through ``ingest.loaders``.

    python -m benchmarks.ocr [--pages 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import multiprocessing
import os
import re
import resource
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from devkit.datasets import dataset
from ingest.extractors import ocr

FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
_PLAIN = re.compile(r"^[\uac00-\ud7a3A-Za-z0-9 .,%\-'\"()?!:]+$")
OPTIONS = {"tesseract_cmd": "tesseract", "languages": "kor+eng", "timeout_s": 120}


def sentences(lang: str) -> list[str]:
    """News sentences in Hangul, Latin letters and plain punctuation only (no hanja)."""
    text = dataset(f"korean-english-park.dev.{lang}").read_text(encoding="utf-8")
    return [s.strip() for s in text.splitlines() if _PLAIN.match(s.strip())]


def page(lines: list[str], dpi: int = 300, points: int = 11) -> tuple[Image.Image, str]:
    """An A4 page of wrapped lines, and the text printed on it."""
    width, height = int(8.27 * dpi), int(11.69 * dpi)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), round(points / 72 * dpi))
    margin, step = int(0.9 * dpi), round(points / 72 * dpi * 1.6)
    printed, y = [], margin
    words = " ".join(lines).split()
    line = ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) <= width - 2 * margin:
            line = candidate
            continue
        draw.text((margin, y), line, font=font, fill=0)
        printed.append(line)
        line, y = word, y + step
        if y > height - margin - step:
            break
    return image, "\n".join(printed)


CODES = (
    "오류 코드 E-4512: 결제 서버에 연결할 수 없습니다.",
    "Order AB-2291-Q3 shipped on 2024-03-15",
)


def screenshot(lines: list[str], px: int) -> tuple[Image.Image, str]:
    """UI-like lines of ``px``-pixel text on a light background, sized to fit every line."""
    font = ImageFont.truetype(str(FONT), px)
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    width = max(measure.textlength(line, font=font) for line in lines)
    image = Image.new("L", (int(width) + 32, (2 * px) * len(lines) + 24), 245)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((16, 12 + index * 2 * px), line, font=font, fill=20)
    return image, "\n".join(lines)


def distance(a: str, b: str) -> int:
    """Levenshtein distance, one numpy row at a time (insertions by a running minimum)."""
    if not a or not b:
        return max(len(a), len(b))
    target = np.array([ord(c) for c in b])
    offsets = np.arange(len(b) + 1)
    previous = offsets.copy()
    for i, char in enumerate(a, start=1):
        current = np.empty_like(previous)
        current[0] = i
        current[1:] = np.minimum(previous[:-1] + (target != ord(char)), previous[1:] + 1)
        previous = np.minimum.accumulate(current - offsets) + offsets
    return int(previous[-1])


def accuracy(reference: str, found: str) -> float:
    ref, hyp = " ".join(reference.split()), " ".join(found.split())
    return max(0.0, 1 - distance(ref, hyp) / max(len(ref), 1))


def at_dpi(scan: Image.Image, dpi: int) -> Image.Image:
    return (
        scan
        if dpi == 300
        else scan.resize(
            (scan.width * dpi // 300, scan.height * dpi // 300), Image.Resampling.LANCZOS
        )
    )


def deskewed(image: Image.Image) -> Image.Image:
    """Rotate by the angle (-2..2 degrees, 0.1 steps) whose row profile is sharpest."""
    small = image.resize((image.width // 4, image.height // 4))
    ink = np.asarray(small) < 128

    def score(angle: float) -> float:
        rotated = Image.fromarray(ink.astype(np.uint8) * 255).rotate(angle, fillcolor=0)
        return float(np.var(np.asarray(rotated).sum(axis=1)))

    best = max(np.arange(-2.0, 2.01, 0.1), key=score)
    return image.rotate(best, resample=Image.Resampling.BICUBIC, fillcolor=255)


def defaults(image: Image.Image) -> str:
    """Tesseract as most code calls it: pytesseract, its default ``--psm 3``, OpenMP threads."""
    import pytesseract

    os.environ.pop("OMP_THREAD_LIMIT", None)
    return pytesseract.image_to_string(image, lang="kor+eng")


def pytesseract_psm6(image: Image.Image) -> str:
    """The chosen settings through pytesseract and Debian's ``tesseract`` program instead."""
    import pytesseract

    os.environ["OMP_THREAD_LIMIT"] = "1"
    prepared = ocr.upscaled(image.convert("L"))
    return ocr.clean(pytesseract.image_to_string(prepared, lang="kor+eng", config="--psm 6"))


@functools.cache
def _api() -> object:
    import tesserocr

    folder = ocr.tessdata_folder("")
    return tesserocr.PyTessBaseAPI(
        path=f"{folder}/", lang="kor+eng", psm=tesserocr.PSM.SINGLE_BLOCK
    )


def chosen(image: Image.Image) -> str:
    """What ingestion runs: :func:`ingest.extractors.ocr.recognize` (``--psm 6``, upscaling)."""
    return ocr.recognize(_api(), image, 120.0)


def configurations() -> dict[str, tuple[int, Callable[[Image.Image], str]]]:
    return {
        "defaults (pytesseract, psm 3, 300 dpi)": (300, defaults),
        "chosen (tesserocr, psm 6, 200 dpi)": (200, chosen),
        "chosen at 300 dpi": (300, chosen),
        "chosen at 150 dpi": (150, chosen),
        "chosen + deskew": (200, lambda image: chosen(deskewed(image))),
        "pytesseract, psm 6, 200 dpi": (200, pytesseract_psm6),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=2, help="pages per language")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--parts", default="pages,screenshots,speed", help="what to measure")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    os.environ["OMP_THREAD_LIMIT"] = "1"
    scans: dict[tuple[str, str], list[tuple[Image.Image, str]]] = {}
    for lang in ("ko", "en"):
        pool = sentences(lang)
        for number in range(args.pages):
            clean, text = page(pool[number * 60 : (number + 1) * 60])
            for variant, image in (
                ("clean", clean),
                (
                    "rotated 0.5°",
                    clean.rotate(0.5, resample=Image.Resampling.BICUBIC, fillcolor=255),
                ),
                ("blurred", clean.filter(ImageFilter.GaussianBlur(1.5))),
            ):
                scans.setdefault((lang, variant), []).append((image, text))
    results: dict[str, dict[str, float]] = {}
    for name, (dpi, run) in configurations().items() if "pages" in parts else ():
        row: dict[str, float] = {}
        for (lang, variant), items in scans.items():
            scores = []
            for image, text in items:
                if name.startswith("defaults"):
                    os.environ.pop("OMP_THREAD_LIMIT", None)
                else:
                    os.environ["OMP_THREAD_LIMIT"] = "1"
                scores.append(accuracy(text, run(at_dpi(image, dpi))))
            row[f"{lang} {variant}"] = round(sum(scores) / len(scores), 4)
        results[name] = row
        print(name, row, flush=True)
    shots = {}
    for px in (12, 14, 16):
        for lang, lines in (("ko", sentences("ko")[200:203]), ("en", sentences("en")[200:203])):
            shots[(lang, px)] = screenshot([*(line[:60] for line in lines), *CODES], px)
    screen: dict[str, dict[str, float]] = {}
    for target in (0, 36, 48, 64) if "screenshots" in parts else ():
        ocr.TARGET_LINE_PX = target or 1
        ocr.MIN_LINE_PX = target or 1
        screen[f"upscale to {target} px lines" if target else "no upscaling"] = {
            f"{lang} {px}px": round(accuracy(text, chosen(image)), 4)
            for (lang, px), (image, text) in shots.items()
        }
        print("screenshots", target, screen, flush=True)
    speed = throughput(scans) if "speed" in parts else {}
    print(speed, flush=True)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"pages": results, "screenshots": screen, "speed": speed},
                ensure_ascii=False,
                indent=1,
            )
        )


def _chosen_png(png: bytes) -> str:
    return chosen(Image.open(io.BytesIO(png)))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def throughput(scans: dict) -> dict[str, float]:
    """Pages per second and CPU seconds per page: chosen vs defaults, and a whole scanned PDF.

    On a shared machine wall time depends on the neighbours; the CPU time of the processes
    doing the work does not (much), so ``on 2 cores`` projects what two dedicated cores give.
    """
    workers = os.cpu_count() or 1
    originals = [items[0][0] for items in scans.values()]
    rows: dict[str, float] = {"workers": workers, "pages": len(originals)}

    def measured(name: str, work: Callable[[], object]) -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        work()
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / len(originals)
        rows[f"{name} pages/s (wall, shared machine)"] = round(len(originals) / wall, 3)
        rows[f"{name} CPU s/page"] = round(cpu, 2)
        rows[f"{name} pages/s on 2 cores"] = round(2 / cpu, 2)

    pngs = [_png(at_dpi(image, 200)) for image in originals]

    def ours() -> None:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_chosen_png, pngs))

    measured("chosen", ours)
    measured("defaults", lambda: [defaults(image) for image in originals])
    measured("scanned PDF through ingest.loaders.load", lambda: _load_scanned(originals))
    return rows


def _load_scanned(pages: list[Image.Image]) -> None:
    """Ingestion's own path: an image-only PDF of ``pages``, parsed and OCR'd in its children."""
    import tempfile

    from fpdf import FPDF

    from ingest.file_limits import Limits
    from ingest.loaders import load

    pdf = FPDF(unit="pt", format="A4")
    for image in pages:
        pdf.add_page()
        pdf.image(io.BytesIO(_png(image.convert("RGB"))), x=0, y=0, w=pdf.w)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scan.pdf"
        pdf.output(str(path))
        loaded = load(path, path.read_bytes(), Limits())
    assert len(loaded.blocks) == len(pages), loaded.notes


if __name__ == "__main__":
    main()
