"""``ask`` and ``chat`` answered by a running RAG API: the terminal loads no model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devkit.served_api import served_api
from rag.generation.no_answer import NO_ANSWER
from tests.support.cli import Cli

pytestmark = pytest.mark.slow

QUESTION = "How long must passwords be?"
SCRIPTED = {"BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER": "{1} [1]"}


def no_models(folder: Path) -> dict[str, str]:
    """Settings under which this process cannot load a model: only an API can answer."""
    missing = str(folder / "no-such-model")
    return {"BLLOSSOM_RAG_EMBEDDING__MODEL": missing, "BLLOSSOM_RAG_GENERATION__MODEL": missing}


def api_env(cli: Cli, **more: str) -> dict[str, str]:
    return {**os.environ, **{k: v for k, v in cli.env.items() if v is not None}, **SCRIPTED, **more}


def test_ask_and_chat_go_to_the_api_configured_or_found(examples_cli: Cli, tmp_path: Path):
    cli = Cli({**examples_cli.env, **SCRIPTED})
    local = cli.json("ask", QUESTION, "--local")
    with served_api(tmp_path, api_env(cli)) as url:
        port = url.rsplit(":", 1)[1]
        remote = cli.json("ask", QUESTION, BLLOSSOM_RAG_CLI__API_URL=url, **no_models(tmp_path))
        assert remote["answer"] == local["answer"] and remote["answer"].endswith("[1]")
        links = ("url", "document_url")  # the API's links to open a source: there, not here
        assert all(source[link] for source in remote["sources"] for link in links)
        unlinked = [{k: v for k, v in s.items() if k not in links} for s in remote["sources"]]
        assert unlinked == local["sources"]
        assert remote["prompt"] is None and remote["prompt_tokens"] > 0
        # the local answer needs the models that are not there
        refused = cli("ask", QUESTION, "--local", **no_models(tmp_path))
        assert refused.exit_code == 1 and "no-such-model" in refused.output

        # not configured: the API running here for this same store is found
        found = cli("ask", QUESTION, BLLOSSOM_RAG_API__PORT=port, **no_models(tmp_path))
        assert found.exit_code == 0, found.output
        assert "Sources" in found.output and "security-policy.md" in found.output
        off = cli(
            "ask",
            QUESTION,
            BLLOSSOM_RAG_API__PORT=port,
            BLLOSSOM_RAG_CLI__FIND_API="false",
            **no_models(tmp_path),
        )
        assert off.exit_code == 1
        # another store's terminal does not get this store's answers
        other = Cli({**cli.env, "BLLOSSOM_RAG_DATA_DIR": str(tmp_path / "other")})
        assert other("ask", QUESTION, BLLOSSOM_RAG_API__PORT=port).exit_code == 1

        chat = cli(
            "chat",
            stdin="한빛 클라우드 노트 팀 요금제는 한 달에 얼마인가요?\n그럼 엔터프라이즈는요?\n"
            "내일 부산 날씨 어때요?\n/exit\n",
            BLLOSSOM_RAG_CLI__API_URL=url,
            **no_models(tmp_path),
        )
        assert chat.exit_code == 0, chat.output
        assert chat.output.count("제품_소개.md") >= 2  # the question and its follow-up
        assert NO_ANSWER["ko"] in chat.output  # the new topic, as asked alone
    trail = tmp_path / "trail.jsonl"
    assert cli("audit", "export", str(trail)).exit_code == 0
    entries = [json.loads(line) for line in trail.read_text().splitlines()]
    surfaces = [e["surface"] for e in entries if e["action"] == "answer"]
    assert surfaces == ["cli", "api", "api", "api", "api", "api"]  # the API recorded them
    report = cli.json("report", "--since", "1h")  # what the operator reads of them
    assert report["asked"] == 6 and report["surfaces"] == {"api": 5, "cli": 1}
    assert ["내일 부산 날씨 어때요?"] in [group["questions"] for group in report["unanswered"]]


def test_an_api_with_keys_needs_the_terminal_to_have_one(examples_cli: Cli, tmp_path: Path):
    cli = Cli({**examples_cli.env, **SCRIPTED})
    keys = {"BLLOSSOM_RAG_API__KEYS": json.dumps({"terminal-key-0123456789": []})}
    with served_api(tmp_path, api_env(cli, **keys)) as url:
        port = url.rsplit(":", 1)[1]
        keyless = cli("ask", QUESTION, BLLOSSOM_RAG_CLI__API_URL=url, **no_models(tmp_path))
        assert keyless.exit_code == 1 and keyless.output.count("\n") == 1
        assert "answered 401" in keyless.output and "[cli] api_key" in keyless.output
        keyed = cli(
            "ask",
            QUESTION,
            BLLOSSOM_RAG_CLI__API_URL=url,
            BLLOSSOM_RAG_CLI__API_KEY="terminal-key-0123456789",
            **no_models(tmp_path),
        )
        assert keyed.exit_code == 0 and "security-policy.md" in keyed.output
        # found running, but it would refuse this terminal: answered here instead
        not_found = cli("ask", QUESTION, BLLOSSOM_RAG_API__PORT=port, **no_models(tmp_path))
        assert not_found.exit_code == 1 and "no-such-model" in not_found.output
    gone = cli("ask", QUESTION, BLLOSSOM_RAG_CLI__API_URL=url, **no_models(tmp_path))
    assert gone.exit_code == 1 and "cannot be reached" in gone.output
