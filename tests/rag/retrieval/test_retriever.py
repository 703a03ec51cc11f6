"""Hybrid retrieval: modes, fusion, the BM25 view's persistence, reranking, Document metadata."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import rag.store.sparse_index as sparse_index
from rag.access import PUBLIC
from rag.assistant import Assistant
from rag.config import Settings
from rag.embeddings.onnx import OnnxEmbeddings
from rag.retrieval.fusion import Fusion
from rag.retrieval.rerank import CrossEncoderReranker
from rag.retrieval.retriever import StoreRetriever
from rag.store import DocumentRecord, DocumentUpdate, NewChunk, Store
from rag.store.bm25 import keyword_coverage
from rag.store.records import searchable_text
from rag.text.morphemes import tokenize
from tests.support.data import KorQuAD
from tests.support.passages import DIM, TEXTS, text_update
from tests.support.stores import keyword_hits


@pytest.fixture
def small(tmp_path: Path) -> Path:
    with Store(tmp_path / "data") as store:
        store.ensure_collection("c", "test-model", DIM)
        store.commit("c", [text_update(d, t, i) for i, (d, t) in enumerate(TEXTS.items())])
    return tmp_path / "data"


@pytest.fixture
def embedded(tmp_path: Path, embeddings) -> Path:
    """The same four texts with the real embedder's vectors (for searches that embed a query)."""
    vectors = embeddings.encode_documents(list(TEXTS.values()))
    with Store(tmp_path / "embedded") as store:
        store.ensure_collection("c", embeddings.name, embeddings.dimension)
        updates = [
            DocumentUpdate(
                DocumentRecord(d, "c", f"/docs/{d}.md", d + t, len(t), 0.0),
                [NewChunk(f"{d}-0", 0, t, 8, vectors[i])],
            )
            for i, (d, t) in enumerate(TEXTS.items())
        ]
        store.commit("c", updates)
    return tmp_path / "embedded"


def test_kiwi_tokens_drop_particles_and_lowercase_english():
    assert tokenize("연차 휴가는 며칠인가요?")[:2] == ["연차", "휴가"]
    assert "는" not in tokenize("연차 휴가는 며칠인가요?")
    assert tokenize("Passwords MUST be rotated.") == ["passwords", "must", "be", "rotated"]


def test_keyword_search_matches_morphemes_not_whitespace(small: Path):
    with Store(small) as store:
        # "휴가를" never appears; Kiwi reduces both sides to 휴가.
        hits = keyword_hits(store, "c", "휴가를 며칠 쓸 수 있나요", 2)
        assert hits[0].chunk.document_id == "leave"
        assert keyword_hits(store, "c", "passwords rotated", 1)[0].chunk.document_id == ("security")
        assert keyword_hits(store, "c", "완전히 무관한 낱말", 3) == []


def test_bm25_view_persists_and_reopens_without_tokenizing(small: Path, monkeypatch):
    with Store(small) as store:
        expected = keyword_hits(store, "c", "출장 경비 청구", 2)
        store.flush()
    files = sorted(p.name for p in (small / "bm25" / "c").iterdir())
    assert files == [".lock", "bm25.1.npz", "manifest.json", "vocabulary.1.json"]

    def no_tokenizing(texts: list[str]) -> list[list[str]]:
        raise AssertionError("a current checkpoint must not be re-tokenized")

    monkeypatch.setattr(sparse_index, "tokenize_many", no_tokenizing)
    with Store(small) as store:
        assert keyword_hits(store, "c", "출장 경비 청구", 2) == expected


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage", "manifest"])
def test_damaged_bm25_view_is_rebuilt(small: Path, damage: str):
    with Store(small) as store:
        store.sparse_view("c")
        store.flush()
    folder = small / "bm25" / "c"
    matrix = folder / "bm25.1.npz"
    if damage == "delete":
        matrix.unlink()
    elif damage == "truncate":
        matrix.write_bytes(matrix.read_bytes()[:40])
    elif damage == "garbage":
        matrix.write_bytes(b"PK\x03\x04 not a zip" * 20)
    else:
        (folder / "manifest.json").write_text("[1, 2")
    with Store(small) as store:
        assert len(store.sparse_view("c")) == len(TEXTS)
        assert keyword_hits(store, "c", "출장 경비", 1)[0].chunk.document_id == "travel"


def test_bm25_view_follows_commits_from_another_process(small: Path):
    with Store(small) as reader, Store(small) as writer:
        assert keyword_hits(reader, "c", "ninety days", 1)[0].chunk.document_id == "security"
        writer.commit(
            "c",
            [text_update("vpn", "VPN access requires a hardware token.", 9)],
            removals=["security"],
        )
        assert keyword_hits(reader, "c", "hardware token", 1)[0].chunk.document_id == "vpn"
        assert keyword_hits(reader, "c", "ninety days", 3) == []
        reader.flush()
    with Store(small) as store:
        assert len(store.sparse_view("c")) == len(TEXTS)


def test_fusion_without_keyword_evidence_keeps_the_dense_order():
    dense = {1: 0.9, 2: 0.8, 3: 0.7}
    keyword = {1: 0.0, 2: 0.0, 3: 12.0}
    assert [i for i, _ in Fusion().fuse(dense, keyword, evidence=0.0)] == [1, 2, 3]
    assert next(i for i, _ in Fusion().fuse(dense, keyword, evidence=1.0)) in (1, 3)
    fixed = Fusion(keyword_weight=0.8, adaptive=False)
    assert next(i for i, _ in fixed.fuse(dense, keyword, evidence=0.0)) == 3
    assert next(i for i, _ in Fusion(method="rrf").fuse(dense, keyword, 1.0)) == 1
    assert keyword_coverage([2.0, 2.0], np.array([2.0, 4.0])).tolist() == [0.5, 1.0]
    assert keyword_coverage([], np.array([0.0])).tolist() == [0.0]


@pytest.mark.parametrize("evidence", [0.0, 1.0])
def test_a_lone_candidate_scores_as_the_best_match_not_zero(evidence: float):
    [(vector_id, score)] = Fusion().fuse({7: 0.83}, {7: 4.2}, evidence=evidence)
    assert (vector_id, score) == (7, 1.0)
    [(_, unmatched)] = Fusion().fuse({7: 0.83}, {7: 0.0}, evidence=evidence)
    assert unmatched == pytest.approx(1.0 - Fusion().keyword_share(evidence))


def test_every_mode_returns_documents_with_citation_metadata(tmp_path: Path, embeddings):
    caption = "빨간 막대 차트: 분기별 매출 red bar chart of quarterly sales"
    texts = [*TEXTS.values(), caption]
    vectors = embeddings.encode_documents(texts)
    with Store(tmp_path / "data") as store:
        store.ensure_collection("c", embeddings.name, embeddings.dimension)
        png = io.BytesIO()
        Image.new("RGB", (8, 8), "red").save(png, format="PNG")
        sha = store.images.put(Image.open(png))
        updates = [
            DocumentUpdate(
                DocumentRecord(doc_id, "c", f"/docs/{doc_id}.md", doc_id, 1, 0.0),
                [NewChunk(f"{doc_id}-0", 0, text, 8, vectors[i])],
            )
            for i, (doc_id, text) in enumerate(TEXTS.items())
        ]
        image = NewChunk(
            "chart-0", 0, caption, 12, vectors[-1], page=3, kind="image", image_sha256=sha
        )
        updates.append(
            DocumentUpdate(DocumentRecord("chart", "c", "/docs/report.pdf", "r", 1, 0.0), [image])
        )
        store.commit("c", updates)
        for mode in ("dense", "bm25", "hybrid"):
            retriever = StoreRetriever(
                store=store, embeddings=embeddings, collection="c", k=2, mode=mode
            )
            [document, *_] = retriever.invoke("분기별 매출 막대 차트")
            assert document.id == "chart-0", mode
            assert document.page_content == caption
            assert document.metadata["kind"] == "image"
            assert document.metadata["page"] == 3
            assert document.metadata["source"] == "/docs/report.pdf"
            assert document.metadata["document_id"] == "chart"
            assert document.metadata["collection"] == "c"
            assert document.metadata["image_sha256"] == sha
            assert Path(document.metadata["image_path"]).is_file()
            assert Path(document.metadata["thumbnail_path"]).is_file()
            assert document.metadata["score"] > 0


def test_reranker_orders_by_cross_encoder_score(embedded: Path, embeddings, tiny_cross_encoder):
    reranker = CrossEncoderReranker.load(str(tiny_cross_encoder), device="cpu")
    with Store(embedded) as store:
        retriever = StoreRetriever(
            store=store,
            embeddings=embeddings,
            collection="c",
            k=4,
            mode="bm25",
            reranker=reranker,
            rerank_top_n=10,
        )
        query = "passwords company documents 휴가 출장"
        documents = retriever.invoke(query)
        expected = reranker.model.predict([(query, d.page_content) for d in documents]).tolist()
        assert expected == sorted(expected, reverse=True)  # the reranker's order is kept
        # The score shown is the calibrated relevance in every mode, reranked or not.
        assert all(d.metadata["score"] == d.metadata["relevance"] for d in documents)
        assert len(documents) == 4


def test_assistant_builds_the_configured_retriever(
    embedded: Path, embedding_model, tiny_cross_encoder
):
    settings = Settings(
        data_dir=embedded,
        device="cpu",
        embedding={"model": embedding_model},
        retrieval={
            "mode": "bm25",
            "fusion": {"keyword_weight": 0.3},
            "reranker_model": str(tiny_cross_encoder),
            "rerank_top_n": 7,
        },
    )
    assistant = Assistant(settings)
    try:
        retriever = assistant.retriever("c", k=3)
        assert (retriever.mode, retriever.k, retriever.access) == ("bm25", 3, PUBLIC)
        assert retriever.fusion.keyword_weight == 0.3
        assert retriever.reranker is not None and retriever.rerank_top_n == 7
        assert assistant.retriever("c", mode="dense").mode == "dense"
        [document] = retriever.invoke("출장 경비")  # BM25: only chunks sharing a term
        assert document.metadata["document_id"] == "travel"
    finally:
        assistant.close()


class MemoEmbeddings(OnnxEmbeddings):
    """The default embedder, embedding each distinct query once (three modes ask the same ones)."""

    @functools.cache  # noqa: B019  (the test's embedder lives as long as the test)
    def encode_query(self, text: str) -> np.ndarray:
        return super().encode_query(text)


@pytest.mark.slow
def found(retriever: StoreRetriever, question: str) -> list[str]:
    """Hybrid: the list a person is shown (in relevance order); a part: its own order.

    A list shown is sorted by relevance, which knows both signals and so lifts every mode; what
    hybrid is measured against is what each part alone would rank.
    """
    if retriever.mode == "hybrid":
        return [Path(d.metadata["source"]).name for d in retriever.invoke(question)]
    return [Path(hit.chunk.source_path).name for hit in retriever.ranked(question).hits]


def test_hybrid_beats_each_part_on_korquad(korquad: KorQuAD, default_embeddings: OnnxEmbeddings):
    onnx = default_embeddings
    memo = MemoEmbeddings(onnx.model, onnx.session, name=onnx.name, batch_size=onnx.batch_size)
    ranks: dict[str, list[int | None]] = {}
    for mode in ("dense", "bm25", "hybrid"):
        retriever = StoreRetriever(
            store=korquad.store, embeddings=memo, collection=korquad.collection, k=5, mode=mode
        )
        ranks[mode] = [
            next(
                (rank for rank, name in enumerate(found(retriever, question), 1) if name == gold),
                None,
            )
            for question, gold in korquad.sample
        ]
    n = len(korquad.sample)
    at1 = {mode: sum(r == 1 for r in found) / n for mode, found in ranks.items()}
    hybrid_at5 = sum(r is not None for r in ranks["hybrid"]) / n
    print(f"KorQuAD R@1 on {n} questions: {at1}, hybrid R@5 {hybrid_at5:.3f}")
    assert at1["hybrid"] > at1["dense"] + 0.05
    assert at1["hybrid"] >= at1["bm25"]
    assert hybrid_at5 >= 0.97


def test_a_passage_shared_word_for_word_is_returned_once(tmp_path: Path, embeddings):
    boilerplate = "이 법은 공포한 날부터 시행한다."
    texts = {  # (heading path, passage)
        # three bills end in the same clause under their own title lines
        **{f"bill{i}": (f"개정안 {i} > 부칙", boilerplate) for i in range(3)},
        "statute": ("", "부칙 제1조(시행일) 이 법은 공포 후 1년이 경과한 날부터 시행한다."),
        "other": ("", "이 법은 플랫폼 이용자의 권익을 보호함을 목적으로 한다."),
    }
    caption = "시행일 안내 표"
    searchable = [searchable_text(heading, text) for heading, text in texts.values()]
    vectors = embeddings.encode_documents([*searchable, caption, caption])
    with Store(tmp_path / "data") as store:
        store.ensure_collection("c", embeddings.name, embeddings.dimension)
        updates = [
            DocumentUpdate(
                DocumentRecord(doc_id, "c", f"/law/{doc_id}.txt", doc_id, 1, 0.0),
                [NewChunk(f"{doc_id}-0", 0, text, 8, vectors[i], heading=heading)],
            )
            for i, (doc_id, (heading, text)) in enumerate(texts.items())
        ]
        for n, colour in enumerate(("red", "blue")):  # one caption, two different pictures
            png = io.BytesIO()
            Image.new("RGB", (8, 8), colour).save(png, format="PNG")
            sha = store.images.put(Image.open(png))
            vector = vectors[len(texts) + n]
            chunk = NewChunk(f"table{n}-0", 0, caption, 4, vector, kind="image", image_sha256=sha)
            record = DocumentRecord(f"table{n}", "c", f"/law/t{n}.png", "t", 1, 0.0)
            updates.append(DocumentUpdate(record, [chunk]))
        store.commit("c", updates)
        for mode in ("dense", "bm25", "hybrid"):
            retriever = StoreRetriever(
                store=store, embeddings=embeddings, collection="c", k=7, mode=mode
            )
            found = retriever.invoke("이 법은 언제부터 시행하나요? 시행일 안내")
            ids = [document.id for document in found]
            assert sum(i.startswith("bill") for i in ids) == 1, (mode, ids)
            passages = [d.page_content for d in found if d.metadata["kind"] == "text"]
            assert len(passages) == len(set(passages)), (mode, passages)
            if mode != "bm25":  # BM25 ranks only keyword matches; the dense side sees all
                assert {"statute-0", "other-0", "table0-0", "table1-0"} <= set(ids), (mode, ids)
            # The one source stands for the others: the bills it also closes are named.
            [bill] = [d for d in found if d.id.startswith("bill")]
            others = {f"bill{i}.txt" for i in range(3)} - {bill.metadata["path"]}
            assert {copy["path"] for copy in bill.metadata["also_in"]} == others, mode
            # The list reads in the order of the relevance it shows.
            shown = [d.metadata["score"] for d in found]
            assert shown == sorted(shown, reverse=True), (mode, shown)
