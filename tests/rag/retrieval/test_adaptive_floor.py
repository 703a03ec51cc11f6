"""The adaptive relevance floor is computed from what the caller may read.

The floor comes from how high a cohort of off-topic questions scores in the collection
(:func:`rag.retrieval.relevance.cohort_floor`). Counted over every row, a hidden document that
answers such questions would raise it for everyone, and an outsider would see in-domain results
vanish. Counted over the caller's readable rows, the outsider's floor is the same whatever hidden
documents say, while a reader of the hidden document gets the floor its words earn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rag.access import PUBLIC, Access
from rag.retrieval.rerank import CrossEncoderReranker
from rag.retrieval.retriever import StoreRetriever
from rag.store import DocumentRecord, DocumentStore, DocumentUpdate, NewChunk
from tests.support.stores import BACKENDS, open_backend

PUBLIC_TEXTS = [
    "비밀번호는 최소 14자 이상이어야 하며 180일마다 바꿔야 합니다.",
    "연차 휴가는 입사 첫해에 11일이 주어지고, 남은 휴가는 다음 해로 넘길 수 없습니다.",
    "Expense claims must be filed within 30 days of the trip, with every receipt attached.",
    "Laptops must use full-disk encryption and lock after five minutes without input.",
]
HR = Access.for_groups(["hr"])
# Hidden passages that answer the everyday questions of the cohort, or an hr memo that does not.
ATTRACTORS = [
    "The weather in Paris tomorrow: rain in the morning, 14 degrees in the afternoon.",
    "Last night's football match was won 2-1 by the home team.",
    "Tonight's dinner: cook pasta with tomato sauce; a good pizza place is near the station.",
    "One bitcoin is worth about 60,000 dollars today.",
    "Movies to watch this weekend and songs for a long road trip.",
    "내일 서울 날씨는 맑고 낮 기온은 20도입니다. 이번 주말에 볼 만한 영화도 소개합니다.",
    "오늘 점심 메뉴로 김치찌개를 추천합니다. 라면을 맛있게 끓이는 법도 있습니다.",
    "어젯밤 축구 경기는 홈팀이 이겼고, 이번 주 로또 당첨 번호가 발표되었습니다.",
    "감기 빨리 낫는 방법과 허리 통증에 좋은 스트레칭을 알려 드립니다.",
    "A banana has about 105 calories; stretches for back pain help too.",
]
MEMO = ["The quarterly salary review for the hr office is due in March."]


def build(store: DocumentStore, embeddings, hidden: list[str]) -> DocumentStore:
    texts = [(f"public-{i}", t, ()) for i, t in enumerate(PUBLIC_TEXTS)]
    texts += [(f"hidden-{i}", t, ("hr",)) for i, t in enumerate(hidden)]
    # The public passages are embedded in a batch of their own: in one batch with the hidden
    # ones, padding to another length changes their vectors in the last bits, and the two
    # stores would no longer hold the same public vectors.
    vectors = [
        *embeddings.encode_documents(PUBLIC_TEXTS),
        *embeddings.encode_documents(hidden),
    ]
    store.ensure_collection("c", embeddings.name, embeddings.dimension)
    store.commit(
        "c",
        [
            DocumentUpdate(
                DocumentRecord(doc_id, "c", f"/docs/{doc_id}.md", doc_id, 1, 0.0, groups),
                [NewChunk(f"{doc_id}-0", 0, text, 16, vectors[i])],
            )
            for i, (doc_id, text, groups) in enumerate(texts)
        ],
    )
    return store


@pytest.fixture(scope="module", params=BACKENDS)
def stores(request: pytest.FixtureRequest, embeddings, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("adaptive-floor")
    opened = {
        name: build(open_backend(request, request.param, root / name), embeddings, hidden)
        for name, hidden in (("attractors", ATTRACTORS), ("memo", MEMO))
    }
    yield opened
    for store in opened.values():
        store.close()


def floor_of(store: DocumentStore, embeddings, access: Access) -> StoreRetriever:
    return StoreRetriever(
        store=store, embeddings=embeddings, collection="c", min_relevance=0.05, access=access
    )


def floor(store: DocumentStore, embeddings, access: Access) -> float:
    return floor_of(store, embeddings, access).floor()


@pytest.mark.slow
def test_hidden_documents_do_not_move_an_outsiders_floor(stores, embeddings):
    seen = {name: floor(store, embeddings, PUBLIC) for name, store in stores.items()}
    assert seen["attractors"] == seen["memo"] < 0.05


@pytest.mark.slow
def test_a_reader_of_the_hidden_documents_gets_their_floor(stores, embeddings):
    # The attractors do raise the floor for someone who can read them: exactly what an
    # outsider must not be able to observe.
    seen = {name: floor(store, embeddings, HR) for name, store in stores.items()}
    assert seen["attractors"] > seen["memo"]


@pytest.mark.slow
def test_the_floor_follows_the_collection_as_it_changes(stores, embeddings):
    store = stores["memo"]
    before = floor(store, embeddings, PUBLIC)
    vectors = embeddings.encode_documents(ATTRACTORS)
    store.commit(
        "c",
        [
            DocumentUpdate(
                DocumentRecord(f"news-{i}", "c", f"/docs/news-{i}.md", f"news-{i}", 1, 0.0),
                [NewChunk(f"news-{i}-0", 0, text, 16, vectors[i])],
            )
            for i, text in enumerate(ATTRACTORS)
        ],
    )
    store.refresh("c")
    assert floor(store, embeddings, PUBLIC) > before  # the cached floor was for the old commit


@pytest.mark.slow
def test_a_reranker_does_not_rerank_the_cohort(stores, embeddings, tiny_cross_encoder):
    # The floor comes from the fused ranking: a cross-encoder would be run 40 times for it.
    reranker = CrossEncoderReranker.load(str(tiny_cross_encoder), device="cpu")
    calls = []
    rerank = reranker.rerank
    reranker.rerank = lambda *args, **kwargs: calls.append(args) or rerank(*args, **kwargs)
    store = stores["attractors"]
    plain = StoreRetriever(store=store, embeddings=embeddings, collection="c", min_relevance=0.05)
    reranked = plain.model_copy(update={"reranker": reranker})
    assert reranked.floor() == plain.floor() and calls == []
    reranked.invoke("비밀번호는 몇 자 이상이어야 하나요?")
    assert len(calls) == 1  # the question itself is reranked


@pytest.fixture(params=BACKENDS)
def memo_store(request: pytest.FixtureRequest, embeddings, tmp_path: Path):
    store = build(open_backend(request, request.param, tmp_path / "memo"), embeddings, MEMO)
    yield store
    store.close()


def counting_searches(store: DocumentStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The collection of every candidate search the store runs from now on."""
    seen: list[str] = []
    search = store.candidates

    def counted(collection: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(collection)
        return search(collection, *args, **kwargs)

    monkeypatch.setattr(store, "candidates", counted)
    return seen


def add(store: DocumentStore, embeddings, doc_id: str, text: str, groups: tuple[str, ...]):
    [vector] = embeddings.encode_documents([text])
    store.commit(
        "c",
        [
            DocumentUpdate(
                DocumentRecord(doc_id, "c", f"/docs/{doc_id}.md", doc_id, 1, 0.0, groups),
                [NewChunk(f"{doc_id}-0", 0, text, 16, vector)],
            )
        ],
    )
    store.refresh("c")


@pytest.mark.slow
def test_a_commit_an_outsider_cannot_read_does_not_run_its_cohort_again(
    memo_store: DocumentStore, embeddings, monkeypatch: pytest.MonkeyPatch
):
    """The floor's cache follows what each caller reads: no timing signal of others' ingests."""
    outsider, reader = (floor_of(memo_store, embeddings, access) for access in (PUBLIC, HR))
    first = {"outsider": outsider.floor(), "reader": reader.floor()}
    searches = counting_searches(memo_store, monkeypatch)
    add(memo_store, embeddings, "hidden-news", ATTRACTORS[0], ("hr",))
    assert outsider.floor() == first["outsider"] and searches == []  # the cached floor
    assert reader.floor() >= first["reader"] and searches  # a reader's cohort runs again
    searches.clear()
    add(memo_store, embeddings, "public-news", ATTRACTORS[1], ())
    outsider.floor()
    assert searches  # what the outsider reads did change
