"""Retrieval quality on real data: KorQuAD dev with the real multilingual-e5-small."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.retrieval.retriever import StoreRetriever
from tests.support.data import KorQuAD


@pytest.mark.slow
def test_korquad_recall_at_5(korquad: KorQuAD, default_embeddings):
    info = korquad.store.collection(korquad.collection)
    assert info.documents == korquad.paragraphs
    retriever = StoreRetriever(
        store=korquad.store, embeddings=default_embeddings, collection=korquad.collection, k=5
    )
    hits = sum(
        any(Path(d.metadata["source"]).name == gold for d in retriever.invoke(question))
        for question, gold in korquad.sample
    )
    recall_at_5 = hits / len(korquad.sample)
    print(f"KorQuAD dev recall@5 on {len(korquad.sample)} questions: {recall_at_5:.3f}")
    assert recall_at_5 >= 0.90
