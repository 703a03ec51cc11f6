"""``bllossom-rag chat`` in-process: follow-ups with history, /new, honest empty answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devkit.corpus import law_folder
from rag.generation.no_answer import NO_ANSWER
from ui.cli import app

FIRST = "국회의원의 임기는 몇 년인가요?"
FOLLOW_UP = "그럼 대통령은?"


@pytest.fixture
def env(cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Settings through the environment; the law folder in ``law``, an hr-only file in ``hr``."""
    monkeypatch.chdir(tmp_path)  # no stray bllossom-rag.toml
    law = law_folder(tmp_path / "law")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "평가.txt").write_text("인사 평가 결과는 매년 3월에 통보된다.", encoding="utf-8")
    runner = CliRunner()
    for args in (
        ["ingest", str(law), "--collection", "law"],
        ["ingest", str(secret), "--collection", "hr", "--groups", "hr"],
    ):
        result = runner.invoke(app, args, env=cli_env)
        assert result.exit_code == 0, result.output
    return cli_env


def chat(env: dict, *lines: str, args: tuple[str, ...] = ("--collection", "law")) -> str:
    result = CliRunner().invoke(
        app, ["chat", "--k", "1", *args], input="\n".join(lines) + "\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def first_sources(output: str) -> list[str]:
    """The file cited as [1] under each answer, in order."""
    return re.findall(r"^\[1\] (\S+)", output, flags=re.MULTILINE)


def test_a_follow_up_is_answered_with_the_conversation_and_new_starts_over(env: dict):
    alone = first_sources(chat(env, FOLLOW_UP))
    output = chat(env, FIRST, FOLLOW_UP, "/new", FOLLOW_UP, "/exit", "never asked")
    cited = first_sources(output)
    assert len(cited) == 3 and output.count("Sources") == 3
    assert Path(cited[0]).name == "국회.txt"
    assert Path(cited[1]).name == "대통령_임기.txt"  # the president's *term*: from the history
    assert Path(alone[0]).name != "대통령_임기.txt"  # which the follow-up alone does not find
    assert cited[2] == alone[0]  # after /new, the same words are a first question again
    assert "New conversation." in output


def test_nothing_readable_gets_the_fixed_answer_without_sources(env: dict):
    output = chat(
        env, "인사 평가 결과는 언제 나오나요?", "When are they announced?", args=("-c", "hr")
    )
    assert output.count(NO_ANSWER["ko"]) == 1 and output.count(NO_ANSWER["en"]) == 1
    assert output.count("No sources found.") == 2
    # the hr group reads the file, so its member is answered from it
    member = chat(env, "인사 평가 결과는 언제 나오나요?", args=("-c", "hr", "--user-groups", "hr"))
    assert NO_ANSWER["ko"] not in member and "평가.txt" in member


def test_a_question_over_its_limit_is_one_line_and_the_conversation_goes_on(env: dict):
    env = {**env, "BLLOSSOM_RAG_CONVERSATION__MAX_QUESTION_CHARS": "40"}
    long = "대통령의 임기는 몇 년이고 연임할 수 있으며 그 근거 조문은 무엇인가요?!"
    output = chat(env, FIRST, long, FOLLOW_UP)
    assert (
        "Error: the question is 41 characters; at most 40 are accepted "
        "(conversation.max_question_chars): shorten it"
    ) in output
    cited = first_sources(output)
    assert len(cited) == 2 and Path(cited[1]).name == "대통령_임기.txt"  # still a follow-up


def test_a_long_conversation_carries_its_latest_turns(env: dict):
    alone = first_sources(chat(env, FOLLOW_UP))
    # Three messages: the follow-up and the exchange before it.
    three = {**env, "BLLOSSOM_RAG_CONVERSATION__MAX_TURNS": "3"}
    cited = first_sources(chat(three, FIRST, FOLLOW_UP))
    assert Path(cited[1]).name == "대통령_임기.txt"
    # Two: no whole exchange fits beside the follow-up, which is asked alone.
    two = {**env, "BLLOSSOM_RAG_CONVERSATION__MAX_TURNS": "2"}
    assert first_sources(chat(two, FIRST, FOLLOW_UP))[1] == alone[0] != cited[1]


def test_end_of_input_ends_the_session_and_a_bad_collection_is_one_line(env: dict):
    assert chat(env).count("Sources") == 0  # Ctrl-D at once: a clean exit
    result = CliRunner().invoke(app, ["chat", "-c", "nope"], input="hi\n", env=env)
    assert result.exit_code == 1
    assert result.output.startswith("Error: collection 'nope' does not exist")
    assert result.output.count("\n") == 1


def test_ask_gives_the_fixed_answer_when_nothing_readable_is_found(env: dict):
    result = CliRunner().invoke(
        app, ["ask", "When are reviews announced?", "-c", "hr", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["answer"] == NO_ANSWER["en"] and answer["sources"] == []
