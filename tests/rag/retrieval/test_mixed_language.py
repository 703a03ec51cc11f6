"""Retrieval over two languages: chunk languages, the neutral space, fusion's visibility."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from devkit.models import EMBEDDING_MODEL
from rag.assistant import Assistant
from rag.config import Settings
from rag.embeddings.space import RAW, AffineMap, VectorSpace
from rag.retrieval.fusion import Fusion, keyword_visibility
from rag.retrieval.retriever import StoreRetriever
from rag.store import DocumentRecord, DocumentUpdate, NewChunk, Store
from rag.store.checkpoint import MANIFEST
from rag.text.language import detect_language
from tests.support.data import ExamplesData

PASSWORD_QUESTION = "비밀번호는 최소 몇 자 이상이어야 하나요?"
# One English passage answers the Korean question; the Korean ones share its words
# (비밀번호, 최소, 이상, 몇) without answering it.
MIXED = {
    "policy": "Passwords must be at least 14 characters long and must be changed every 180 days.",
    "vpn": "The VPN requires a hardware token for every login from outside the office.",
    "find": "비밀번호 찾기 기능은 로그인 화면 아래에 있으며 최소 한 번 본인 인증이 필요합니다.",
    "order": "최소 주문 금액은 만 원 이상이어야 하며 배송비는 별도입니다.",
    "room": "회의실 예약은 최소 하루 전에 해야 하며 몇 시간 이상 쓸 수 없습니다.",
    "lunch": "구내식당은 열한 시 반부터 한 시 반까지 점심을 제공합니다.",
}


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("연차 휴가는 입사 첫해에 11일입니다.", "ko"),
        ("blues in the night 을 부른 가수가 누구인가요?", "ko"),  # a Korean question, English title
        ("Annual leave is 15 days.", "en"),
        ("Deadly storm is nearing Tokyo 끔찍한 태풍이 도쿄에 접근 중", "mixed"),
        ("2024-01-01 12:00 / 3.5%", "und"),
        ("", "und"),
    ],
)
def test_language_is_the_hangul_share_of_the_letters(text: str, language: str):
    assert detect_language(text) == language


def test_visibility_is_the_squared_share_of_top_dense_hits_bm25_can_match():
    dense = {1: 0.9, 2: 0.8, 3: 0.7, 4: 0.6, 5: 0.5, 6: 0.1}
    languages = {1: "en", 2: "en", 3: "ko", 4: "mixed", 5: "en", 6: "ko"}
    assert keyword_visibility(dense, languages, "ko") == pytest.approx((2 / 5) ** 2)
    assert keyword_visibility(dense, languages, "en") == pytest.approx((4 / 5) ** 2)
    assert keyword_visibility(dense, languages, "und") == 1.0
    # A Korean distractor with every keyword cannot outvote three English dense hits.
    keyword = {1: 0.0, 2: 0.0, 3: 0.0, 6: 9.0}
    three = {i: dense[i] for i in (1, 2, 6)}
    seen = keyword_visibility(three, languages, "ko")
    assert next(i for i, _ in Fusion().fuse(three, keyword, 0.9, seen)) == 1
    assert next(i for i, _ in Fusion().fuse(three, keyword, 0.9)) == 6  # blind to languages


def mixed_store(folder: Path, embeddings) -> Store:
    vectors = embeddings.encode_documents(list(MIXED.values()))
    store = Store(folder)
    store.ensure_collection("c", embeddings.name, embeddings.dimension)
    store.commit(
        "c",
        [
            DocumentUpdate(
                DocumentRecord(name, "c", f"/docs/{name}.md", name, 1, 0.0),
                [NewChunk(name, 0, text, 9, vectors[i])],
            )
            for i, (name, text) in enumerate(MIXED.items())
        ],
    )
    return store


@pytest.mark.slow
def test_korean_keyword_hits_do_not_outvote_the_english_answer(tmp_path: Path, embeddings):
    with mixed_store(tmp_path / "data", embeddings) as store:
        # The code before: raw vectors, and BM25 weighted as if it saw every passage.
        found = store.candidates(
            "c", PASSWORD_QUESTION, embeddings.encode_query(PASSWORD_QUESTION), 9
        )
        before = Fusion().fuse(found.dense, found.keyword, found.evidence)
        [first_before] = store.hits(before[:1])
        assert first_before.chunk.id != "policy"
        retriever = StoreRetriever(store=store, embeddings=embeddings, collection="c")
        documents = retriever.invoke(PASSWORD_QUESTION)
        assert documents[0].id == "policy"
        assert documents[0].metadata["language"] == "en"


@pytest.mark.slow
def test_the_examples_password_question_ranks_the_english_policy_first(
    examples_data: ExamplesData, tmp_path: Path
):
    data_dir = tmp_path / "data"
    shutil.copytree(examples_data.data_dir, data_dir)
    assistant = Assistant(
        Settings(data_dir=data_dir, device="cpu", embedding={"model": EMBEDDING_MODEL})
    )
    try:
        [first, *_] = assistant.retriever().invoke(PASSWORD_QUESTION)
    finally:
        assistant.close()
    assert Path(first.metadata["source"]).name == "security-policy.md"


def test_a_view_in_a_space_holds_mapped_vectors_beside_the_raw_one(tmp_path: Path):
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((6, 8)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    axis = np.eye(8, dtype=np.float32)[0]
    shift = np.full(8, 0.1, dtype=np.float32)
    space = VectorSpace("test", AffineMap(shift, axis), AffineMap(2 * shift, axis))
    query = rows[2]

    def mapped(x: np.ndarray, s: np.ndarray) -> np.ndarray:  # the map, written out
        moved = x - s
        moved[..., 0] = 0.0
        return moved / np.linalg.norm(moved, axis=-1, keepdims=True)

    expected = mapped(rows, shift) @ mapped(query, 2 * shift)
    with Store(tmp_path / "data") as store:
        store.ensure_collection("c", "m", 8)
        record = DocumentRecord("d", "c", "d.md", "d", 1, 0.0)
        store.commit("c", [DocumentUpdate(record, [NewChunk(f"c{i}", i, f"text {i}", 1, r)
                                                   for i, r in enumerate(rows)])])  # fmt: skip
        raw = store.search("c", query, k=6)
        spaced = store.search("c", query, k=6, space=space)
        store.flush()
    assert {h.chunk.id: h.score for h in spaced} == pytest.approx(
        {f"c{i}": float(s) for i, s in enumerate(expected)}, abs=1e-5
    )
    assert {h.chunk.id: h.score for h in raw} == pytest.approx(
        {f"c{i}": float(s) for i, s in enumerate(rows @ query)}, abs=1e-5
    )
    raw_manifest = json.loads((tmp_path / "data" / "faiss" / "c" / MANIFEST).read_text())
    spaced_manifest = json.loads(
        (tmp_path / "data" / f"faiss-{space.id}" / "c" / MANIFEST).read_text()
    )
    assert (raw_manifest["space"], spaced_manifest["space"]) == (RAW.id, space.id)
    # A raw checkpoint written before spaces existed has no "space" field: it still loads.
    del raw_manifest["space"]
    (tmp_path / "data" / "faiss" / "c" / MANIFEST).write_text(json.dumps(raw_manifest))
    with Store(tmp_path / "data") as store:
        view = store.dense_view("c")
        assert view.head.seq == raw_manifest["seq"] and len(view) == 6 and not view.dirty
