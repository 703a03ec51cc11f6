"""Evaluation: dataset formats, relevance matching, metrics, and the ``eval`` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from langchain_core.documents import Document

from devkit.datasets import dataset
from rag.evaluation.retrieval import (
    DatasetError,
    EvalQuery,
    Scores,
    evaluate,
    first_ranks,
    load_dataset,
    matches,
)
from tests.support.cli import Cli

SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "휴가",
            "paragraphs": [
                {
                    "context": "입사 첫해에는 연차 휴가를 최대 11일까지 쓸 수 있다.",
                    "qas": [{"id": "1", "question": "입사 첫해 연차는 며칠인가?", "answers": []}],
                },
                {
                    "context": "Travel expenses must be claimed within seven days with receipts.",
                    "qas": [
                        {"id": "2", "question": "When must travel expenses be claimed?"},
                        {"id": "3", "question": "What must accompany an expense claim?"},
                    ],
                },
            ],
        },
        {
            "title": "보안",
            "paragraphs": [
                {
                    "context": "비밀번호는 90일마다 바꾸고 다른 사람과 공유하지 않는다.",
                    "qas": [{"id": "4", "question": "비밀번호는 얼마나 자주 바꿔야 하나?"}],
                }
            ],
        },
    ],
}


def doc(source: str, text: str = "") -> Document:
    return Document(page_content=text, metadata={"source": source})


def test_squad_file_gives_corpus_and_queries(tmp_path: Path):
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    data = load_dataset(path)
    assert [p.name for p in data.passages] == ["p00000.txt", "p00001.txt", "p00002.txt"]
    assert [q.relevant for q in data.queries] == [
        ("p00000.txt",),
        ("p00001.txt",),
        ("p00001.txt",),
        ("p00002.txt",),
    ]


def test_real_korquad_file_loads():
    data = load_dataset(dataset("KorQuAD_v1.0_dev.json"))
    assert (len(data.passages), len(data.queries)) == (964, 5774)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"data": [{"paragraphs": [{"qas": []}]}]}', "missing field 'context'"),
        ("[1, 2]", "not SQuAD format"),
        ("{nope", "invalid JSON at line 1"),
    ],
)
def test_bad_squad_files_name_the_problem(tmp_path: Path, content: str, message: str):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"query": "q"}', r'bad.jsonl:2: field "relevant"'),
        ('{"query": "", "relevant": ["a"]}', r'bad.jsonl:2: field "query"'),
        ('{"query": "q", "relevant": "a.md"}', r'bad.jsonl:2: field "relevant"'),
        ("not json", r"bad.jsonl:2: invalid JSON"),
    ],
)
def test_bad_jsonl_lines_name_file_line_and_field(tmp_path: Path, line: str, message: str):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"query": "ok", "relevant": ["a.md"]}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


def test_missing_and_non_utf8_files_are_clear(tmp_path: Path):
    with pytest.raises(DatasetError, match="dataset file not found"):
        load_dataset(tmp_path / "none.jsonl")
    path = tmp_path / "cp949.jsonl"
    path.write_bytes("질문".encode("cp949"))
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_dataset(path)


def test_relevant_entries_match_path_suffix_or_quoted_text():
    assert matches("handbook/휴가_정책.md", doc("/srv/docs/handbook/휴가_정책.md"))
    assert not matches("정책.txt", doc("/srv/docs/handbook/휴가_정책.md"))
    assert matches("최대 11일", doc("/x.md", "연차는\n최대   11일까지"))
    query = EvalQuery("q", ("b.md", "missing.md"))
    assert first_ranks(query, [doc("/a.md"), doc("/b.md"), doc("/b.md")]) == [2, None]


def test_metrics_by_hand():
    scores = Scores()
    scores.add([1], latency_ms=10.0)  # hit at rank 1
    scores.add([3], latency_ms=20.0)  # hit at rank 3
    scores.add([None], latency_ms=30.0)  # miss
    scores.add([2, None], latency_ms=40.0)  # one of two relevant entries, at rank 2
    summary = scores.summary()
    assert summary["n"] == 4
    assert summary["recall@1"] == pytest.approx(1 / 4)
    assert summary["recall@5"] == pytest.approx((1 + 1 + 0 + 0.5) / 4, abs=1e-4)
    assert summary["mrr@10"] == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4, abs=1e-4)
    ideal_two = 1 + 1 / math.log2(3)
    ndcg = (1 + 1 / math.log2(4) + 0 + (1 / math.log2(3)) / ideal_two) / 4
    assert summary["ndcg@10"] == pytest.approx(ndcg, abs=1e-4)
    assert summary["latency_ms"] == {"p50": 25.0, "p95": 38.5}


def test_evaluate_runs_every_query():
    queries = [EvalQuery("a", ("a.md",)), EvalQuery("b", ("b.md",))]
    scores = evaluate(queries, lambda query: [doc(f"/{query.text}.md")])
    assert scores.summary()["recall@1"] == 1.0


@pytest.mark.slow
def test_cli_eval_on_squad_file_prints_the_json_shape(cli: Cli, tmp_path: Path):
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")

    # The ranking alone: the relevance floor (a setting eval honours) would drop weak hits.
    result = cli.json(
        "eval", str(path), "--mode", "bm25", BLLOSSOM_RAG_RETRIEVAL__MIN_RELEVANCE="0"
    )
    assert set(result) == {
        "n",
        "recall@1",
        "recall@5",
        "recall@10",
        "mrr@10",
        "ndcg@10",
        "latency_ms",
    }
    assert set(result["latency_ms"]) == {"p50", "p95"}
    assert result["n"] == 4
    assert result["recall@5"] == 1.0  # three passages: everything is in the top 5
    assert result["recall@1"] >= 0.75
    assert sorted(p.name for p in (cli.data_dir / "eval" / "eval-mini").iterdir()) == [
        "p00000.txt",
        "p00001.txt",
        "p00002.txt",
    ]


def test_cli_eval_rejects_unknown_mode(cli: Cli, tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": "q", "relevant": ["a"]}\n', encoding="utf-8")
    result = cli("eval", str(path), "--mode", "fuzzy")
    assert result.exit_code != 0
    assert "dense, bm25 or hybrid" in result.stderr
