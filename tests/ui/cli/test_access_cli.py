"""``keys`` and ``audit`` on the command line; ``ask`` and ``chat`` leave an audit entry each."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import Cli

QUESTION = "입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?"


def trail(cli: Cli, tmp_path: Path, *args: str) -> list[dict]:
    path = tmp_path / "trail.jsonl"
    result = cli("audit", "export", str(path), *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_key_is_shown_once_listed_without_it_and_revoked(cli: Cli, tmp_path: Path):
    made = cli.json("keys", "create", "reporting-bot", "--groups", "hr,finance")
    assert made["name"] == "reporting-bot" and made["groups"] == ["finance", "hr"]
    assert made["key"].startswith("brk_") and len(made["key"]) > 40
    listed = cli("keys", "list", "--json")
    assert made["key"] not in listed.output
    [key] = json.loads(listed.stdout)
    assert (key["name"], key["scopes"], key["revoked_at"]) == ("reporting-bot", ["read"], None)
    again = cli("keys", "create", "reporting-bot")
    assert again.exit_code == 1 and "exists" in again.output and again.output.count("\n") == 1
    assert cli("keys", "revoke", "reporting-bot").exit_code == 0
    twice = cli("keys", "revoke", "reporting-bot")
    assert twice.exit_code == 1 and "already revoked" in twice.output
    writer = cli.json("keys", "create", "pusher", "--write")
    assert writer["scopes"] == ["read", "write"]
    changes = [(e["detail"]["key"], e["detail"]["change"]) for e in trail(cli, tmp_path)]
    assert changes == [
        ("reporting-bot", "created"),
        ("reporting-bot", "revoked"),
        ("pusher", "created"),
    ]


def test_ask_and_chat_put_who_what_and_which_documents_on_the_trail(
    examples_cli: Cli, tmp_path: Path
):
    answer = examples_cli.json("ask", QUESTION)
    shown = list(dict.fromkeys(source["id"] for source in answer["sources"]))
    listed = {d["path"]: d["id"] for d in examples_cli.json("docs", "list")}
    documents = [listed[source["source"]] for source in answer["sources"]]
    assert documents == [source["document_id"] for source in answer["sources"]]
    chat = examples_cli("chat", stdin=f"{QUESTION}\n/exit\n")
    assert chat.exit_code == 0, chat.output
    entries = [e for e in trail(examples_cli, tmp_path) if e["action"] == "answer"]
    assert [e["surface"] for e in entries] == ["cli", "cli"]
    first = entries[0]
    assert first["who"].startswith("cli:") and first["collection"] == "default"
    assert first["question"] == QUESTION and first["detail"]["answered"] is True
    assert first["documents"] == list(dict.fromkeys(documents)) and shown
    recent = trail(examples_cli, tmp_path, "--since", "1h", "--who", first["who"])
    assert len([e for e in recent if e["action"] == "answer"]) == 2
    assert trail(examples_cli, tmp_path, "--who", "nobody") == []


def test_a_bad_since_is_one_line(cli: Cli, tmp_path: Path):
    result = cli("audit", "export", str(tmp_path / "x.jsonl"), "--since", "a week")
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "7d, 12h, 30m or 2w" in result.output
