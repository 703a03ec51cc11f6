"""Ingest keeps what opens a source: relative paths, PDF word boxes (text layer and OCR), originals.

A passage of a born-digital page and one of a scanned page are each found on their page; the
page renders with the highlight where the passage is printed; the original is handed out only
while it is the file that was ingested; a moved file keeps its layouts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from devkit.corpus import korean_pdf
from devkit.documents import mixed_pdf
from ingest.file_limits import Limits
from ingest.originals import Originals
from ingest.pipeline import Ingestor
from rag.access import PUBLIC, Access
from rag.images import open_image
from rag.sources import open_passage
from rag.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture
def ingested(embeddings, tmp_path: Path) -> tuple[Store, Path]:
    folder = tmp_path / "team"
    folder.mkdir()
    korean_pdf(folder / "보고서.pdf")
    mixed_pdf(folder / "scan.pdf")
    months = {"1월": "예산", "2월": "채용", "3월": "출시"}
    sections = [
        f"## {month}\n\n" + " ".join(f"{topic}을 {n}번째로 논의했다." for n in range(1, 9))
        for month, topic in months.items()
    ]  # each too long to share a chunk with its sibling
    (folder / "notes.md").write_text("# 회의록\n\n" + "\n\n".join(sections), encoding="utf-8")
    store = Store(tmp_path / "data")
    ingestor = Ingestor(
        store, embeddings, chunk_tokens=64, chunk_overlap=0, max_file_bytes=10_000_000
    )
    report = ingestor.ingest([folder], collection="c")
    assert report.failed == [] and len(report.ingested) == 3
    yield store, folder
    store.close()


def passage_on(store: Store, name: str, page: int, words: str):
    document = next(d for d in store.documents("c") if d.shown_path == f"team/{name}")
    chunk = next(
        c for c in store.document_chunks("c", document.id) if c.page == page and words in c.text
    )
    found = open_passage(store, "c", chunk.id, PUBLIC)
    assert found is not None
    return found


def highlighted(png: bytes, box: tuple[float, float, float, float]) -> tuple[float, float]:
    """The share of yellowish pixels inside ``box`` and outside every box's band."""
    pixels = np.asarray(open_image(png).convert("RGB")).astype(int)
    height, width, _ = pixels.shape
    yellow = (pixels[:, :, 0] > 200) & (pixels[:, :, 1] > 150) & (pixels[:, :, 2] < 200)
    left, top, right, bottom = (round(v * s) for v, s in zip(box, (width, height) * 2, strict=True))
    inside = yellow[top:bottom, left:right].mean()
    below = yellow[min(height - 1, bottom + height // 10) :, :].mean()
    return float(inside), float(below)


def test_documents_are_shown_by_their_path_from_the_folder_ingested(ingested):
    store, _ = ingested
    assert sorted(d.shown_path for d in store.documents("c")) == [
        "team/notes.md",
        "team/scan.pdf",
        "team/보고서.pdf",
    ]


def test_a_text_layer_passage_is_highlighted_on_its_page(ingested):
    store, _ = ingested
    found = passage_on(store, "보고서.pdf", 2, "Busan")
    assert found.page_image and len(found.boxes) == 1
    left, top, right, bottom = found.boxes[0]
    assert 0 < left < right <= 1 and 0 < top < bottom < 0.2  # the first lines of page 2
    png = Originals(10_000_000, Limits()).page_png(found.document, 2, found.boxes)
    assert png is not None
    inside, below = highlighted(png, found.boxes[0])
    assert inside > 0.5 and below == 0.0


def test_a_scanned_page_is_highlighted_from_the_words_ocr_read(ingested):
    store, _ = ingested
    found = passage_on(store, "scan.pdf", 2, "개인정보")
    assert len(found.boxes) >= 2  # several printed lines
    png = Originals(10_000_000, Limits()).page_png(found.document, 2, found.boxes)
    assert png is not None
    inside, below = highlighted(png, found.boxes[0])
    assert inside > 0.3 and below == 0.0
    assert open_image(png).size[1] == 1600  # an A4 page, its long side at PAGE_PIXELS


def test_a_passage_comes_with_its_heading_and_neighbours(ingested):
    store, _ = ingested
    document = next(d for d in store.documents("c") if d.shown_path == "team/notes.md")
    chunks = store.document_chunks("c", document.id)
    assert len(chunks) >= 3
    for index in (0, len(chunks) // 2, len(chunks) - 1):
        found = open_passage(store, "c", chunks[index].id, PUBLIC)
        assert found is not None and found.chunk.heading.startswith("회의록 > ")
        before = chunks[index - 1].id if index > 0 else None
        after = chunks[index + 1].id if index < len(chunks) - 1 else None
        assert (found.before and found.before.id, found.after and found.after.id) == (before, after)
        assert found.boxes == () and not found.page_image and found.format == "md"


def test_a_reader_without_access_gets_what_an_unknown_id_gets(ingested):
    store, _ = ingested
    document = next(d for d in store.documents("c") if d.shown_path == "team/notes.md")
    store.regroup("c", [document], ["hr"])
    chunk = store.document_chunks("c", document.id)[0]
    assert open_passage(store, "c", chunk.id, PUBLIC) is None
    assert open_passage(store, "c", "no-such-chunk", PUBLIC) is None
    assert open_passage(store, "no such collection!", chunk.id, PUBLIC) is None
    assert open_passage(store, "c", chunk.id, Access.for_groups(["hr"])) is not None


def test_an_original_is_handed_out_only_while_it_is_what_was_ingested(ingested):
    store, folder = ingested
    originals = Originals(10_000_000, Limits())
    document = next(d for d in store.documents("c") if d.shown_path == "team/notes.md")
    assert originals.read(document) == (folder / "notes.md").read_bytes()
    (folder / "notes.md").write_text("# 바뀐 파일\n\n다른 내용.", encoding="utf-8")
    assert originals.read(document) is None
    (folder / "notes.md").unlink()
    (folder / "notes.md").symlink_to(folder / "보고서.pdf")
    assert originals.read(document) is None
    pdf = next(d for d in store.documents("c") if d.shown_path == "team/보고서.pdf")
    (folder / "보고서.pdf").unlink()
    assert originals.read(pdf) is None
    assert originals.page_png(pdf, 1) is None


def test_a_moved_folder_keeps_its_page_layouts(ingested, embeddings, tmp_path: Path):
    store, folder = ingested
    before = {d.id: store.page_layouts("c", d.id) for d in store.documents("c")}
    moved = tmp_path / "moved" / "team"
    moved.parent.mkdir()
    shutil.move(folder, moved)
    ingestor = Ingestor(
        store, embeddings, chunk_tokens=64, chunk_overlap=0, max_file_bytes=10_000_000
    )
    report = ingestor.ingest([moved], collection="c")
    assert report.chunks_embedded == 0 and len(report.ingested) == 3
    assert {d.id: store.page_layouts("c", d.id) for d in store.documents("c")} == before
    laid_out = {d.shown_path for d in store.documents("c") if before[d.id]}
    assert laid_out == {"team/보고서.pdf", "team/scan.pdf"}
    found = passage_on(store, "보고서.pdf", 2, "Busan")
    assert found.document.source_path == str(moved / "보고서.pdf") and found.boxes
    png = Originals(10_000_000, Limits()).page_png(found.document, 2, found.boxes)
    assert png is not None and highlighted(png, found.boxes[0])[0] > 0.5
