"""BM25 statistics come from what the caller may read: hidden documents cannot move a score.

idf, the document count and the average length decide every BM25 score. Counted over all rows,
they let an outsider learn whether a hidden document contains a word: the probe below scores a
public file ``nightingale zqxjnonce`` and sees its score move with the hidden document's words.
Counted over the caller's readable rows, the scores are identical whatever hidden documents
contain, in ``bm25`` and in ``hybrid`` mode, while callers who read everything keep the scores
they always had (checked against BM25 computed here by hand).
"""

from __future__ import annotations

import math

import pytest

from rag.access import OPERATOR, PUBLIC, Access
from rag.retrieval.retriever import StoreRetriever
from rag.store import DocumentRecord, DocumentStore, DocumentUpdate, NewChunk
from rag.store.bm25 import K1, B
from rag.text.morphemes import tokenize
from tests.support.stores import BACKENDS, keyword_hits, open_backend

PROBE = "nightingale zqxjnonce"
PUBLIC_TEXTS = {
    "probe": "nightingale zqxjnonce",
    "bird": "A nightingale is a small brown bird that sings at night.",
    "menu": "Lunch is served at noon in the cafeteria.",
    "leave": "연차 휴가는 입사 첫해에 최대 11일까지 사용할 수 있습니다.",
}
HR = Access.for_groups(["hr"])
# The hidden document, with and without the probe word (and of another length, too).
HIDDEN = {
    "with": "The nightingale report: nightingale, nightingale, nightingale.",
    "without": "The quarterly salary review for the hr office.",
}


def build(store: DocumentStore, embeddings, hidden: str) -> DocumentStore:
    texts = {**PUBLIC_TEXTS, "secret": hidden}
    vectors = embeddings.encode_documents(list(texts.values()))
    store.ensure_collection("c", embeddings.name, embeddings.dimension)
    store.commit(
        "c",
        [
            DocumentUpdate(
                DocumentRecord(
                    doc_id, "c", f"/docs/{doc_id}.md", doc_id, 1, 0.0,
                    ("hr",) if doc_id == "secret" else (),
                ),
                [NewChunk(f"{doc_id}-0", 0, text, 8, vectors[i])],
            )
            for i, (doc_id, text) in enumerate(texts.items())
        ],
    )  # fmt: skip
    return store


@pytest.fixture(scope="module", params=BACKENDS)
def stores(request: pytest.FixtureRequest, embeddings, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("keyword-statistics")
    opened = {
        name: build(open_backend(request, request.param, root / name), embeddings, text)
        for name, text in HIDDEN.items()
    }
    yield opened
    for store in opened.values():
        store.close()


def probe(
    store: DocumentStore, embeddings, mode: str, access: Access
) -> list[tuple[str, float, float | None]]:
    """The probe's results: document, the mode's own score (BM25, fused) and the relevance."""
    retriever = StoreRetriever(
        store=store, embeddings=embeddings, collection="c", k=10, mode=mode, access=access
    )
    return [(h.chunk.document_id, h.score, h.relevance) for h in retriever.search(PROBE)]


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_hidden_words_do_not_move_an_outsiders_scores(stores, embeddings, mode: str):
    seen = {name: probe(store, embeddings, mode, PUBLIC) for name, store in stores.items()}
    assert seen["with"][0][0] == "probe"
    assert "secret" not in {doc_id for doc_id, _, _ in seen["with"]}
    # The same ranking and the very same scores and relevance.
    assert seen["with"] == seen["without"]


def test_the_probe_can_tell_for_a_reader_of_the_hidden_document(stores, embeddings):
    # For a reader of the hidden document its words count, as they should: the probe's score
    # moves, which is exactly what an outsider must not be able to observe.
    scores = {
        name: {doc_id: score for doc_id, score, _ in probe(store, embeddings, "bm25", HR)}
        for name, store in stores.items()
    }
    assert scores["with"]["probe"] < scores["without"]["probe"]


def reference_bm25(texts: dict[str, str], query: str) -> dict[str, float]:
    """Lucene's BM25 over ``texts``, written out term by term (the matching documents only)."""
    tokens = {doc_id: tokenize(text) for doc_id, text in texts.items()}
    average = sum(len(t) for t in tokens.values()) / len(tokens)
    scores: dict[str, float] = {}
    for term in set(tokenize(query)):
        df = sum(term in t for t in tokens.values())
        idf = math.log(1 + (len(tokens) - df + 0.5) / (df + 0.5))
        for doc_id, words in tokens.items():
            if tf := words.count(term):
                norm = K1 * (1 - B + B * len(words) / average)
                scores[doc_id] = scores.get(doc_id, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
    return scores


@pytest.mark.parametrize("hidden", list(HIDDEN))
@pytest.mark.parametrize("access", [OPERATOR, HR, PUBLIC], ids=["operator", "hr", "public"])
def test_scores_are_bm25_over_exactly_the_readable_documents(stores, hidden: str, access: Access):
    readable = {**PUBLIC_TEXTS, **({} if access is PUBLIC else {"secret": HIDDEN[hidden]})}
    for query in (PROBE, "nightingale bird night", "연차 휴가 며칠"):
        hits = keyword_hits(stores[hidden], "c", query, 10, access=access)
        found = {hit.chunk.document_id: hit.score for hit in hits}
        assert found == pytest.approx(reference_bm25(readable, query), rel=1e-5), query
