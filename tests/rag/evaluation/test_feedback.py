"""Feedback: ratings kept in the data folder, exported as the JSONL ``eval`` reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devkit.models import EXAMPLES
from rag.evaluation.feedback import Feedback, FeedbackLog
from rag.evaluation.retrieval import load_dataset
from ui.cli import app

SOURCES = (
    {"id": "c1", "source": "/docs/휴가_정책.md", "page": None, "text": "연차 11일", "score": 0.9},
    {"id": "c2", "source": "/docs/출장_경비.txt", "page": None, "text": "숙박비", "score": 0.5},
    {"id": "c3", "source": "/docs/휴가_정책.md", "page": None, "text": "병가 60일", "score": 0.4},
)


def rated(question: str, answer: str, rating: int, **fields) -> Feedback:
    values = {"collection": "default", "history": (), "sources": SOURCES, **fields}
    return Feedback(question=question, answer=answer, rating=rating, **values)


def test_thumbs_up_answers_become_eval_lines_with_their_cited_sources(tmp_path: Path):
    log = FeedbackLog.in_data_dir(tmp_path / "data")
    conversation = (
        {"role": "user", "content": "연차는 며칠인가요?"},
        {"role": "assistant", "content": "11일입니다 [1]."},
    )
    for entry in [
        rated("연차는 며칠인가요?", "11일입니다 [1].", 1),
        rated("그럼 병가는요?", "60일입니다 [3], [1, 3].", 1, history=conversation),
        rated("출장비는?", "모르겠습니다.", -1),
        rated("숙박비는?", "12만 원 [2].", -1),
        rated("숙박비는?", "12만 원 [2].", 1),  # rated again: the latest rating counts
        rated("아무거나", "없음", 1, sources=()),
        rated("다른 곳", "답 [1]", 1, collection="other"),
    ]:
        log.record(entry)
    assert (tmp_path / "data" / "feedback.sqlite3").is_file()

    out = tmp_path / "eval.jsonl"
    report = log.export_eval(out, collections=["default"])
    assert (report.written, report.thumbs_down, report.without_sources) == (3, 1, 1)
    lines = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert lines == [
        {"query": "연차는 며칠인가요?", "relevant": ["/docs/휴가_정책.md"]},
        {
            "query": "그럼 병가는요?",
            "relevant": ["/docs/휴가_정책.md"],  # [3] and [1]: one file, listed once
            "history": ["연차는 며칠인가요?"],
        },
        {"query": "숙박비는?", "relevant": ["/docs/출장_경비.txt"]},
    ]
    dataset = load_dataset(out)  # what eval reads
    assert [q.history for q in dataset.queries] == [(), ("연차는 며칠인가요?",), ()]
    # an answer that cites nothing vouches for every source it was given
    log.record(rated("전부", "네.", 1, collection="third"))
    everything = log.export_eval(tmp_path / "all.jsonl", collections=["third"])
    line = json.loads((tmp_path / "all.jsonl").read_text("utf-8"))
    assert everything.written == 1
    assert line["relevant"] == ["/docs/휴가_정책.md", "/docs/출장_경비.txt"]


def test_a_rating_is_up_or_down(tmp_path: Path):
    with pytest.raises(ValueError, match="1 or -1"):
        FeedbackLog(tmp_path / "f.sqlite3").record(rated("q", "a", 0))


@pytest.mark.slow
def test_export_then_eval_reads_it(cli_env: dict[str, str], tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray bllossom-rag.toml
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(EXAMPLES)], env=cli_env).exit_code == 0
    log = FeedbackLog.in_data_dir(Path(cli_env["BLLOSSOM_RAG_DATA_DIR"]))
    questions = [
        "입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?",
        "How long must passwords be?",
    ]
    for question in questions:
        asked = runner.invoke(app, ["ask", question, "--json"], env=cli_env)
        assert asked.exit_code == 0, asked.output
        answer = json.loads(asked.output)
        log.record(
            Feedback(
                collection="default",
                question=question,
                history=(),
                answer="[1]",  # the person vouched for the first source
                sources=tuple(answer["sources"]),
                rating=1,
            )
        )
    exported = runner.invoke(
        app, ["feedback", "export", str(tmp_path / "mine.jsonl"), "--json"], env=cli_env
    )
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["written"] == 2
    evaluated = runner.invoke(app, ["eval", str(tmp_path / "mine.jsonl"), "--json"], env=cli_env)
    assert evaluated.exit_code == 0, evaluated.output
    scores = json.loads(evaluated.output[evaluated.output.index("{") :])
    assert scores["n"] == 2 and scores["recall@1"] == 1.0  # the vouched source ranks first


def test_export_with_no_feedback_yet_writes_an_empty_file(cli_env, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["feedback", "export", str(tmp_path / "none.jsonl")], env=cli_env
    )
    assert result.exit_code == 0 and "Wrote 0 rated questions" in result.output
    assert (tmp_path / "none.jsonl").read_text() == ""
