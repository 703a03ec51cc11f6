"""Conversation-aware retrieval: the weighted query, weighted BM25, the rewrite, the real set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage

from devkit.models import EXAMPLES, REPO
from ingest.pipeline import Ingestor
from rag.config import Settings
from rag.evaluation.retrieval import EvalQuery, first_ranks
from rag.retrieval.followup import FollowUps, RetrievalQuery
from rag.retrieval.retriever import StoreRetriever
from rag.store import DocumentRecord, DocumentUpdate, NewChunk, Store
from rag.text.morphemes import tokenize
from tests.support.data import KorQuAD

CONVERSATIONS = REPO / "benchmarks" / "followups.jsonl"
LEGAL = REPO / "benchmarks" / "data" / "legal"
HISTORY = [
    HumanMessage(content="국회의원의 임기는 몇 년인가요?"),
    AIMessage(content="국회의원의 임기는 4년입니다 [1]."),
]


def test_a_first_question_is_searched_exactly_as_a_one_off_question(embeddings):
    query = FollowUps().query("국회의원의 임기는?", history=[])
    assert query == RetrievalQuery.of("국회의원의 임기는?")
    assert query.keywords() == "국회의원의 임기는?"
    assert np.array_equal(query.vector(embeddings), embeddings.encode_query("국회의원의 임기는?"))


def test_a_follow_up_carries_the_earlier_user_turns_weighted_toward_the_latest():
    history = [
        HumanMessage(content="연차는 며칠인가요?"),
        AIMessage(content="15일입니다."),
        *HISTORY,
    ]
    query = FollowUps(decay=0.5, turns=3).query("그럼 대통령은?", history)
    # only the user's turns, oldest first, each half the weight of the next
    assert query.turns == (
        ("연차는 며칠인가요?", 0.25),
        ("국회의원의 임기는 몇 년인가요?", 0.5),
        ("그럼 대통령은?", 1.0),
    )
    assert query.text == "연차는 며칠인가요?\n국회의원의 임기는 몇 년인가요?\n그럼 대통령은?"
    assert FollowUps(turns=1).query("그럼 대통령은?", history).turns[0][1] == 0.5
    assert FollowUps(mode="off").query("그럼 대통령은?", history) == RetrievalQuery.of(
        "그럼 대통령은?"
    )


def test_keyword_weights_are_the_latest_turns_weight_squared():
    query = RetrievalQuery((("국회의원의 임기는?", 0.5), ("그럼 대통령의 임기는?", 1.0)))
    weights = query.keywords()
    assert isinstance(weights, dict)
    for term in tokenize("그럼 대통령의 임기는?"):
        assert weights[term] == 1.0  # also said in the latest turn: its own weight wins
    for term in set(tokenize("국회의원의 임기는?")) - set(tokenize("그럼 대통령의 임기는?")):
        assert weights[term] == 0.25


def test_the_dense_query_is_the_weighted_mean_of_the_turns_normalized(embeddings):
    query = RetrievalQuery((("국회의원의 임기는?", 0.5), ("그럼 대통령은?", 1.0)))
    first, second = (embeddings.encode_query(text) for text, _ in query.turns)
    expected = 0.5 * first + second
    expected /= np.linalg.norm(expected)
    assert np.allclose(query.vector(embeddings), expected, atol=1e-5)


def corpus_store(folder: Path, embeddings) -> Store:
    texts = {
        "assembly": "국회의원의 임기는 4년으로 한다.",
        "president": "대통령의 임기는 5년으로 하며, 중임할 수 없다.",
        "court": "대법원장의 임기는 6년으로 하며, 중임할 수 없다.",
        "duty": "대통령은 국가의 독립과 영토의 보전을 지킬 책무를 진다.",
    }
    store = Store(folder)
    store.ensure_collection("law", embeddings.name, embeddings.dimension)
    vectors = embeddings.encode_documents(list(texts.values()))
    store.commit(
        "law",
        [
            DocumentUpdate(
                DocumentRecord(doc, "law", f"/law/{doc}.txt", doc, len(text), 0.0),
                [NewChunk(f"{doc}-0", 0, text, 8, vector)],
            )
            for (doc, text), vector in zip(texts.items(), vectors, strict=True)
        ],
    )
    return store


def test_weighted_bm25_is_the_weighted_sum_of_each_terms_scores(tmp_path: Path, embeddings):
    with corpus_store(tmp_path / "data", embeddings) as store:
        view = store.sparse_view("law")
        weighted = view.match({"대통령": 1.0, "임기": 0.25})
        alone = {term: view.match({term: 1.0}) for term in ("대통령", "임기")}
        expected = alone["대통령"].scores_of(weighted.ids) + 0.25 * alone["임기"].scores_of(
            weighted.ids
        )
        assert np.allclose(weighted.scores, expected, rtol=1e-5)
        # a text query is its distinct tokens, each at weight 1
        text = view.match("대통령의 임기")
        assert np.allclose(
            text.scores_of(weighted.ids),
            view.match(dict.fromkeys(tokenize("대통령의 임기"), 1.0)).scores_of(weighted.ids),
        )


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_an_elliptical_follow_up_finds_its_passage_with_the_history(
    tmp_path: Path, embeddings, mode: str
):
    with corpus_store(tmp_path / "data", embeddings) as store:
        retriever = StoreRetriever(
            store=store, embeddings=embeddings, collection="law", k=4, mode=mode
        )
        query = FollowUps().query("그럼 대통령은?", HISTORY)
        ranked = retriever.invoke(query.text, turns=query.turns)
        assert ranked[0].metadata["source"] == "/law/president.txt"


class ModelCalls(BaseCallbackHandler):
    """Counts the chat model's runs and keeps what it wrote."""

    def __init__(self) -> None:
        self.started = 0
        self.outputs: list[str] = []

    def on_chat_model_start(self, serialized, messages, **kwargs) -> None:
        self.started += 1

    def on_llm_end(self, response, **kwargs) -> None:
        self.outputs.append(response.generations[0][0].text)


def test_llm_rewrite_searches_the_generators_one_line_question(tmp_path: Path, chat_model):
    calls = ModelCalls()
    followups = FollowUps(mode="llm", llm=chat_model.with_config(callbacks=[calls]))
    query = followups.query("그럼 대통령은?", HISTORY)
    assert calls.started == 1
    written = next((line for line in calls.outputs[0].splitlines() if line.strip()), "")
    if written.strip(" \"'"):
        assert query == RetrievalQuery.of(written.strip(" \"'"))
    else:  # the tiny random model may write nothing: the mix stands in
        assert query == FollowUps(mode="mix").query("그럼 대통령은?", HISTORY)
    # a first question is never rewritten: nothing to resolve, no generation paid
    assert followups.query("국회의원의 임기는?") == RetrievalQuery.of("국회의원의 임기는?")
    assert calls.started == 1


def conversations() -> list[dict]:
    lines = CONVERSATIONS.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def small_corpora(default_embeddings, tmp_path_factory: pytest.TempPathFactory):
    """One store: ``examples/`` (collection ``examples``), the legal texts (``legal``)."""
    with Store(tmp_path_factory.mktemp("examples") / "data") as store:
        Ingestor(
            store, default_embeddings, chunk_tokens=64, chunk_overlap=8, max_file_bytes=1_000_000
        ).ingest([EXAMPLES], collection="examples")
        # the statute and bills the legal conversations are about, chunked at ingest's defaults
        Ingestor(
            store, default_embeddings, chunk_tokens=256, chunk_overlap=32, max_file_bytes=1_000_000
        ).ingest(sorted(LEGAL.glob("*.txt")), collection="legal")
        yield store


@pytest.mark.slow
def test_follow_ups_are_found_with_their_history_far_more_often_than_alone(
    korquad: KorQuAD, small_corpora: Store, default_embeddings
):
    items = conversations()
    assert len(items) >= 30 and all(len(item["history"]) == 1 for item in items)
    retrievers = {
        "korquad": StoreRetriever(
            store=korquad.store, embeddings=default_embeddings, collection=korquad.collection, k=5
        ),
        **{
            name: StoreRetriever(
                store=small_corpora, embeddings=default_embeddings, collection=name, k=5
            )
            for name in ("examples", "legal")
        },
    }
    floor = Settings().retrieval.min_relevance
    found: dict[str, list[bool]] = {"alone": [], "history": [], "full": [], "floored": []}
    for item in items:
        retriever = retrievers[item["corpus"]]
        query = FollowUps().query(item["query"], [HumanMessage(content=item["history"][0])])
        floored = retriever.model_copy(update={"min_relevance": floor})
        results = {
            "alone": retriever.invoke(item["query"]),
            "history": retriever.invoke(query.text, turns=query.turns),
            "full": retriever.invoke(item["full"]),
            # as chat, the UI and the API search: the default floor must not refuse follow-ups
            "floored": floored.invoke(query.text, turns=query.turns),
        }
        for name, documents in results.items():
            rank = first_ranks(EvalQuery(item["query"], tuple(item["relevant"])), documents)[0]
            found[name].append(rank is not None)
    recall = {name: sum(hits) / len(items) for name, hits in found.items()}
    gained = sum(h and not a for h, a in zip(found["history"], found["alone"], strict=True))
    lost = sum(a and not h for h, a in zip(found["history"], found["alone"], strict=True))
    print(f"follow-up recall@5 on {len(items)} conversations: {recall}; +{gained} -{lost}")
    assert gained > lost  # the history finds passages the follow-up alone misses, not the reverse
    assert recall["history"] >= recall["full"] - 0.075
    assert recall["history"] >= 0.85
    assert recall["floored"] >= recall["history"] - 0.05
