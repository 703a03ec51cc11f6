"""Retrieval quality on real data: KorQuAD dev with the real multilingual-e5-small."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ingest.pipeline import Ingestor
from rag.retrieval import StoreRetriever
from rag.store import Store
from tests.conftest import DATASETS

SAMPLE = 200


@pytest.mark.slow
def test_korquad_recall_at_5(embeddings, tmp_path: Path):
    squad = json.loads((DATASETS / "KorQuAD_v1.0_dev.json").read_text(encoding="utf-8"))
    corpus = tmp_path / "korquad"
    corpus.mkdir()
    questions: list[tuple[str, str]] = []  # (question, gold file name)
    contexts: dict[str, str] = {}
    for article in squad["data"]:
        for paragraph in article["paragraphs"]:
            name = f"p{len(contexts):04d}.txt"
            contexts[name] = paragraph["context"]
            questions.extend((qa["question"], name) for qa in paragraph["qas"])
    for name, text in contexts.items():
        (corpus / name).write_text(text, encoding="utf-8")
    sample = random.Random(0).sample(questions, SAMPLE)

    with Store(tmp_path / "data") as store:
        report = Ingestor(
            store, embeddings, chunk_tokens=256, chunk_overlap=32, max_file_bytes=1_000_000
        ).ingest([corpus], collection="korquad")
        assert len(report.ingested) == len(contexts) and not report.failed
        retriever = StoreRetriever(store=store, embeddings=embeddings, collection="korquad", k=5)
        hits = sum(
            any(Path(d.metadata["source"]).name == gold for d in retriever.invoke(question))
            for question, gold in sample
        )
    recall_at_5 = hits / SAMPLE
    print(f"KorQuAD dev recall@5 on {SAMPLE} questions: {recall_at_5:.3f}")
    assert recall_at_5 >= 0.90
