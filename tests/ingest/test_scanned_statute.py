"""A statute scanned to image-only pages is found by paraphrased questions, floor and all.

The end-to-end path of a copier's PDF: OCR in the child processes, structure-aware chunks with
their page numbers, hybrid search and the default relevance floor, on the first pages of the
statute (the whole one, and what each floor costs, is ``benchmarks/scanned.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devkit.models import EMBEDDING_MODEL
from devkit.statute import STATUTE, gold_pages, lay_out, write_pdf
from ingest.pipeline import Ingestor
from rag.config import Settings
from rag.retrieval.retriever import StoreRetriever
from rag.store import Store

PAGES = 3  # the first three pages: chapters 1-2, enough articles for a dozen questions


@pytest.mark.slow
def test_a_scanned_statute_is_found_by_its_pages(tmp_path: Path, embeddings):
    text = STATUTE.read_text("utf-8")
    pages = lay_out(text)[:PAGES]
    rows = json.loads((STATUTE.parent / "questions.json").read_text("utf-8"))
    asked = [
        (row["question"], gold)
        for row in rows
        if row["file"] == STATUTE.name and row["language"] == "ko" and row["article"]
        for gold in [gold_pages(text, pages, row["article"])]
        if gold
    ]
    assert len(asked) >= 8
    pdf = write_pdf(pages, tmp_path / "스캔본.pdf", scanned=True)
    settings = Settings(
        data_dir=tmp_path / "data", device="cpu", embedding={"model": EMBEDDING_MODEL}
    )
    with Store(settings.data_dir) as store:
        ingestor = Ingestor.from_settings(settings, store, embeddings)
        report = ingestor.ingest([pdf], collection="law")
        assert not report.failed and not report.notices and report.chunks_embedded > 0
        retriever = StoreRetriever(
            store=store,
            embeddings=embeddings,
            collection="law",
            min_relevance=settings.retrieval.min_relevance,
        )
        found = [
            bool({d.metadata["page"] for d in retriever.invoke(question)} & gold)
            for question, gold in asked
        ]
    assert sum(found) >= 0.8 * len(asked), list(zip(asked, found, strict=True))
