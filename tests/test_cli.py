"""The real console script, end to end, as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import EXAMPLES

GOLD = "휴가_정책.md"
QUESTION = "입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?"


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bllossom-rag", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_ingest_ask_json_and_reingest(cli_env: dict[str, str]):
    first = run(cli_env, "ingest", str(EXAMPLES), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert len(report["ingested"]) == 5 and report["failed"] == []
    assert report["chunks_embedded"] > 0

    asked = run(cli_env, "ask", QUESTION, "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert set(answer) == {"answer", "sources", "prompt", "prompt_tokens", "images"}
    assert all(image["kind"] == "retrieved" for image in answer["images"])  # no --image
    assert answer["answer"]
    assert Path(answer["sources"][0]["source"]).name == GOLD
    assert set(answer["sources"][0]) == {"id", "source", "page", "text", "score"}
    assert "최대 11일" in answer["sources"][0]["text"]
    assert answer["prompt"].count("<|begin_of_text|>") == 1
    assert answer["prompt"].startswith("<|begin_of_text|><|start_header_id|>system")
    assert answer["prompt"].endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert answer["prompt_tokens"] > 100

    again = run(cli_env, "ingest", str(EXAMPLES), "--json")
    assert json.loads(again.stdout)["chunks_embedded"] == 0


def test_ask_streams_answer_then_numbered_sources(cli_env: dict[str, str]):
    run(cli_env, "ingest", str(EXAMPLES))
    asked = run(cli_env, "ask", "How long must passwords be?", "--k", "2")
    assert asked.returncode == 0, asked.stderr
    sources = asked.stdout.split("Sources")[1]
    assert "[1] " in sources and "security-policy.md" in sources and "[3]" not in sources


def test_docs_list_and_remove(cli_env: dict[str, str]):
    run(cli_env, "ingest", str(EXAMPLES), "--collection", "hb")
    listed = json.loads(run(cli_env, "docs", "list", "--collection", "hb", "--json").stdout)
    assert len(listed) == 5
    target = next(d for d in listed if d["source"].endswith("faq-en.md"))
    removed = run(cli_env, "docs", "remove", target["id"], "--collection", "hb")
    assert removed.returncode == 0, removed.stderr
    by_path = run(cli_env, "docs", "remove", str(EXAMPLES / "product"), "--collection", "hb")
    assert "1 documents" in by_path.stdout  # only 제품_소개.md was left in product/
    left = json.loads(run(cli_env, "docs", "list", "--collection", "hb", "--json").stdout)
    assert len(left) == 3


def test_missing_collection_is_one_line_error(cli_env: dict[str, str]):
    result = run(cli_env, "ask", "질문", "--collection", "없는컬렉션")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_missing_model_is_one_line_error(cli_env: dict[str, str], tmp_path: Path):
    env = {**cli_env, "BLLOSSOM_RAG_EMBEDDING_MODEL": str(tmp_path / "no-such-model")}
    result = run(env, "ingest", str(EXAMPLES))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "embedding model folder not found" in result.stderr


def test_bad_setting_is_one_line_error(cli_env: dict[str, str]):
    result = run({**cli_env, "BLLOSSOM_RAG_TOP_K": "many"}, "docs", "list")
    assert result.returncode == 1
    assert "invalid setting top_k" in result.stderr and "Traceback" not in result.stderr
