"""Page-accurate locations: a question about a fact on slide N cites slide N, one about row N
cites the rows that hold N, with the sheet and the header row in the passage, one about page N
of a PDF cites page N, and one about a section of a DOCX, HWP or HWPX report cites the section
by its heading path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit import documents as fx
from ingest.pipeline import Ingestor
from rag.retrieval.retriever import StoreRetriever
from rag.store import Store

REPORTS = ("docx", "hwp", "hwpx")
ROWS = 2000  # rows 2..2001 under the header
ASKED_ROWS = (2, 42, 777, 1503, 2001)  # none a quantity (10 x row) of another


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store for the module: the deck and the workbook are ingested once."""
    opened = Store(tmp_path_factory.mktemp("locations") / "data")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def retriever(store: Store, embeddings, tmp_path_factory: pytest.TempPathFactory) -> StoreRetriever:
    folder = tmp_path_factory.mktemp("share")
    fx.slide_deck(folder / "전략.pptx")
    fx.workbook(folder / "재고.xlsx", rows=ROWS)
    ingestor = Ingestor(
        store, embeddings, chunk_tokens=256, chunk_overlap=32, max_file_bytes=50 * 1024 * 1024
    )
    report = ingestor.ingest([folder], collection="default")
    assert report.failed == [] and len(report.ingested) == 2
    return StoreRetriever(store=store, embeddings=embeddings, k=5)


def test_every_slide_is_its_own_unit_on_its_own_page(store: Store, retriever: StoreRetriever):
    [deck] = [d for d in store.documents("default") if d.source_path.endswith(".pptx")]
    chunks = store.document_chunks("default", deck.id)
    assert [c.page for c in chunks] == list(range(1, len(fx.SLIDES) + 1))
    for chunk, (title, body, notes) in zip(chunks, fx.SLIDES, strict=True):
        for words in (title, body, notes):
            assert words in f"{chunk.heading}\n{chunk.text}"


@pytest.mark.parametrize("slide", range(1, len(fx.SLIDES) + 1))
def test_a_question_about_slide_n_cites_slide_n(retriever: StoreRetriever, slide: int):
    [best, *_] = retriever.search(fx.SLIDE_QUESTIONS[slide - 1])
    assert (Path(best.chunk.source_path).name, best.chunk.page) == ("전략.pptx", slide)


def test_a_question_about_row_n_cites_the_rows_holding_n(retriever: StoreRetriever):
    for row in ASKED_ROWS:
        [best, *_] = retriever.search(f"볼트 {row}호의 품목 코드와 수량은?")
        assert Path(best.chunk.source_path).name == "재고.xlsx"
        label = re.match(r"\[재고!(\d+):(\d+)\] 품목 \| 코드 \| 수량 \| 비고", best.chunk.text)
        assert label is not None, best.chunk.text  # the sheet, the rows and the header row
        first, last = map(int, label.groups())
        assert first <= row <= last, (row, best.chunk.text)
        assert f"볼트 {row}호 | " in best.chunk.text


@pytest.fixture(scope="module")
def by_format(
    store: Store, embeddings, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, StoreRetriever]:
    """The twelve facts as a PDF and as DOCX, HWP and HWPX reports, each its own collection."""
    folder = tmp_path_factory.mktemp("reports")
    ingestor = Ingestor(
        store, embeddings, chunk_tokens=256, chunk_overlap=32, max_file_bytes=50 * 1024 * 1024
    )
    made = {"pdf": fx.paged_pdf(folder / "보고서.pdf")}
    made |= {suffix: fx.sectioned_report(folder / f"보고서.{suffix}") for suffix in REPORTS}
    retrievers = {}
    for suffix, path in made.items():
        report = ingestor.ingest([path], collection=suffix)
        assert report.failed == [] and len(report.ingested) == 1
        retrievers[suffix] = StoreRetriever(
            store=store, embeddings=embeddings, collection=suffix, k=5
        )
    return retrievers


@pytest.mark.parametrize("page", range(1, len(fx.SLIDES) + 1))
def test_a_question_about_page_n_of_a_pdf_cites_page_n(
    by_format: dict[str, StoreRetriever], page: int
):
    [best, *_] = by_format["pdf"].search(fx.SLIDE_QUESTIONS[page - 1])
    assert best.chunk.page == page
    assert fx.SLIDES[page - 1][1] in best.chunk.text


@pytest.mark.parametrize("suffix", REPORTS)
def test_a_question_about_a_section_cites_its_heading_path(
    by_format: dict[str, StoreRetriever], suffix: str
):
    for fact, question in enumerate(fx.SLIDE_QUESTIONS):
        [best, *_] = by_format[suffix].search(question)
        assert best.chunk.heading == fx.section_path(fact), (question, best.chunk.text)
        assert fx.SLIDES[fact][1] in best.chunk.text
