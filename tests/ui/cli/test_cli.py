"""The command line: the installed console script once, then every behaviour in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.models import EMBEDDING_MODEL, EXAMPLES, GENERATOR_MODEL, command_environment
from rag.store import Store
from rag.text.display import plural
from tests.support.cli import Cli
from tests.support.data import ExamplesData

GOLD = "휴가_정책.md"
# A source: the chunk (its id opens it: bllossom-rag source), the document's path from the folder
# ingested, where and how relevant, and what else holds the same passage.
SOURCE_FIELDS = {
    "id", "source", "page", "text", "score", "relevance", "document_id", "collection",
    "kind", "heading", "also_in",
}  # fmt: skip
QUESTION = "입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?"
# Next to the interpreter running the tests: the script this environment installed.
CONSOLE_SCRIPT = Path(sys.executable).with_name("bllossom-rag")


def test_console_script_in_a_new_shell_with_no_exports(tmp_path: Path):
    """The README's main job as a user runs it: a bllossom-rag.toml in the working folder,
    no BLLOSSOM_RAG_* variables, the hub switched off (so nothing may need it)."""
    (tmp_path / "bllossom-rag.toml").write_text(
        'data_dir = "store"\n'
        f"embedding_model = {json.dumps(EMBEDDING_MODEL)}\n"
        f"generator_model = {json.dumps(GENERATOR_MODEL)}\n"
        'max_new_tokens = 8\ndevice = "cpu"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLLOSSOM_RAG_")}
    env["HF_HUB_OFFLINE"] = "1"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CONSOLE_SCRIPT), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    first = run("ingest", str(EXAMPLES), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert len(report["ingested"]) == 5 and report["failed"] == []
    assert report["chunks_embedded"] > 0
    assert (tmp_path / "store").is_dir()  # data_dir resolved against the file's folder

    asked = run("ask", QUESTION, "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert set(answer) == {"answer", "sources", "support", "prompt", "prompt_tokens", "images"}
    assert all(image["kind"] == "retrieved" for image in answer["images"])  # no --image
    assert answer["answer"]
    assert answer["sources"][0]["source"] == f"examples/handbook/{GOLD}"
    assert set(answer["sources"][0]) == SOURCE_FIELDS
    assert "최대 11일" in answer["sources"][0]["text"]
    assert answer["prompt"].count("<|begin_of_text|>") == 1
    assert answer["prompt"].startswith("<|begin_of_text|><|start_header_id|>system")
    assert answer["prompt"].endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert answer["prompt_tokens"] > 100


def test_reingest_embeds_nothing(examples_data: ExamplesData, examples_cli: Cli):
    assert len(examples_data.report["ingested"]) == 5
    assert examples_data.report["chunks_embedded"] > 0
    again = examples_cli.json("ingest", str(EXAMPLES))
    assert again["chunks_embedded"] == 0
    assert sorted(again["unchanged"]) == sorted(examples_data.report["ingested"])


def test_ask_streams_answer_then_numbered_sources(examples_cli: Cli):
    asked = examples_cli("ask", "How long must passwords be?", "--k", "2")
    assert asked.exit_code == 0, asked.output
    sources = asked.stdout.split("Sources")[1]
    assert "[1] " in sources and "security-policy.md" in sources and "[3]" not in sources


def test_docs_list_and_remove(examples_cli: Cli):
    listed = examples_cli.json("docs", "list")
    assert len(listed) == 5
    target = next(d for d in listed if d["source"].endswith("faq-en.md"))
    product = next(d for d in listed if d["source"].endswith("제품_소개.md"))
    removed = examples_cli("docs", "remove", target["id"])
    assert removed.exit_code == 0, removed.output
    assert "faq-en.md" in removed.stdout
    by_path = examples_cli("docs", "remove", str(EXAMPLES / "product"))
    # only 제품_소개.md was left under product/
    assert f"1 document, {plural(product['chunks'], 'chunk')} removed" in by_path.stdout
    left = examples_cli.json("docs", "list")
    assert len(left) == 3
    table = examples_cli("docs", "list")
    assert "Collection default: 3 documents" in table.stdout


def one_line_error(result) -> str:
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("Error: ")
    return result.stderr


def test_missing_collection_is_one_line_error_before_any_model_loads(cli: Cli, tmp_path: Path):
    # Models that cannot load: reaching them would be a different error.
    missing = str(tmp_path / "no-such-model")
    result = cli(
        "ask",
        "질문",
        "--collection",
        "없는컬렉션",
        BLLOSSOM_RAG_EMBEDDING__MODEL=missing,
        BLLOSSOM_RAG_GENERATION__MODEL=missing,
    )
    assert "collection '없는컬렉션' does not exist" in one_line_error(result)


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question_is_refused_before_any_model_loads(
    examples_cli: Cli, tmp_path: Path, question: str
):
    missing = str(tmp_path / "no-such-model")
    result = examples_cli(
        "ask",
        question,
        BLLOSSOM_RAG_EMBEDDING__MODEL=missing,
        BLLOSSOM_RAG_GENERATION__MODEL=missing,
    )
    assert "the question is empty" in one_line_error(result)


def test_a_question_over_its_limit_is_refused_before_any_model_loads(
    examples_cli: Cli, tmp_path: Path
):
    missing = str(tmp_path / "no-such-model")
    result = examples_cli(
        "ask",
        "연차" * 2_001,
        BLLOSSOM_RAG_EMBEDDING__MODEL=missing,
        BLLOSSOM_RAG_GENERATION__MODEL=missing,
    )
    assert one_line_error(result).strip() == (
        "Error: the question is 4,002 characters; at most 4,000 are accepted "
        "(conversation.max_question_chars): shorten it"
    )


def test_missing_model_is_one_line_error(cli: Cli, tmp_path: Path):
    missing = str(tmp_path / "no-such-model")
    result = cli("ingest", str(EXAMPLES), BLLOSSOM_RAG_EMBEDDING__MODEL=missing)
    assert f"embedding model folder not found: {missing}" in one_line_error(result)


def test_unreachable_hub_name_is_one_line_error_naming_the_setting(cli: Cli):
    result = cli(
        "ingest",
        str(EXAMPLES),
        BLLOSSOM_RAG_EMBEDDING__MODEL="bllossom-rag-tests/never-cached",
        HF_HUB_OFFLINE="1",
    )
    error = one_line_error(result)
    assert "'bllossom-rag-tests/never-cached' is not in the local Hugging Face cache" in error
    assert "set embedding.model" in error


def test_bad_setting_names_the_variable_and_its_value(cli: Cli):
    error = one_line_error(cli("docs", "list", BLLOSSOM_RAG_RETRIEVAL__TOP_K="many"))
    assert "invalid setting retrieval.top_k (BLLOSSOM_RAG_RETRIEVAL__TOP_K='many')" in error


def test_unknown_variable_is_one_line_error_with_the_close_match(cli: Cli):
    error = one_line_error(cli("docs", "list", BLLOSSOM_RAG_TOPK="3"))
    assert "unknown environment variable BLLOSSOM_RAG_TOPK" in error
    assert "did you mean BLLOSSOM_RAG_RETRIEVAL__TOP_K?" in error


def test_unavailable_device_is_refused_before_loading(examples_cli: Cli):
    error = one_line_error(examples_cli("ask", QUESTION, BLLOSSOM_RAG_DEVICE="cuda:99"))
    assert "device is 'cuda:99' but this machine has" in error
    assert "set device to auto or cpu" in error


def test_collection_embedder_is_used_when_none_is_configured(
    examples_data: ExamplesData, examples_cli: Cli
):
    """A new shell with only data_dir: the collection says which embedder built it."""
    with Store(examples_cli.data_dir) as store:
        recorded = store.collection("default").embedding_model
    assert recorded == str(Path(EMBEDDING_MODEL).resolve())
    # Were the default (a hub name) used, this fails at once: the hub is switched off.
    result = examples_cli(
        "ask", QUESTION, "--json", BLLOSSOM_RAG_EMBEDDING__MODEL=None, HF_HUB_OFFLINE="1"
    )
    assert result.exit_code == 0, result.output
    assert Path(json.loads(result.stdout)["sources"][0]["source"]).name == GOLD


def test_relative_model_folder_is_recorded_as_a_loadable_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    model = Path(EMBEDDING_MODEL).resolve()
    monkeypatch.chdir(model.parent)
    cli = Cli(
        {**command_environment(tmp_path / "data"), "BLLOSSOM_RAG_EMBEDDING__MODEL": model.name}
    )
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("연차 휴가는 열하루까지 쓸 수 있다.", encoding="utf-8")
    assert cli.json("ingest", str(folder))["chunks_embedded"] == 1
    with Store(cli.data_dir) as store:
        assert store.collection("default").embedding_model == str(model)


# ESC + clear screen, BEL, a line break opening a fake source line, a right-to-left override.
HOSTILE_NAME = "evil\x1b[2J\x07\n[9] (fake.md)\u202etxt.md"
HOSTILE_SHOWN = "evil\\x1b[2J\\x07\\n[9] (fake.md)\\u202etxt.md"
FAILING_NAME = "bad\x1b]0;pwned\x07.pdf"


def test_hostile_file_names_are_shown_escaped_everywhere(cli: Cli, tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / HOSTILE_NAME).write_text(
        "Passwords must be at least 12 characters long. 비밀번호는 12자 이상이어야 한다.",
        encoding="utf-8",
    )
    (folder / FAILING_NAME).write_bytes(b"not a pdf at all")
    outputs = {
        "ingest": cli("ingest", str(folder)),
        "docs list": cli("docs", "list"),
        "ask": cli("ask", "How long must passwords be?"),
    }
    for command, result in outputs.items():
        assert result.exit_code == 0, (command, result.output)
        printed = result.stdout + result.stderr
        assert not set(printed) & set("\x1b\x07\u202e"), command
        assert HOSTILE_SHOWN in printed, command
    assert "bad\\x1b]0;pwned\\x07.pdf" in outputs["ingest"].stdout  # its failure row


def test_json_paths_are_absolute_in_every_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A relative data_dir, relative arguments: every path a --json prints is absolute."""
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    docs = Path("docs")
    docs.mkdir()
    (docs / "매출.md").write_text("2026년 분기별 매출은 차트에 있다.", encoding="utf-8")
    Image.new("RGB", (64, 48), "red").save(docs / "chart.png")
    (docs / "chart.png.txt").write_text("분기별 매출 차트", encoding="utf-8")
    Image.new("RGB", (32, 32), "blue").save("photo.png")
    cli = Cli(command_environment(Path("data")))

    def absolute(value: object) -> bool:
        return isinstance(value, str) and Path(value).is_absolute()

    ingested = cli.json("ingest", "docs")
    assert len(ingested["ingested"]) == 2
    again = cli.json("ingest", "docs", "photo.png", "--prune")
    paths = [*again["unchanged"], *again["skipped"], *again["pruned"], *ingested["ingested"]]
    paths += [failure["path"] for failure in again["failed"]]
    assert paths and all(absolute(path) for path in paths), paths

    listed = cli.json("docs", "list")
    assert len(listed) == 3 and all(absolute(document["source"]) for document in listed)
    # What a person is shown is the path from the folder ingested, that folder's name first.
    assert sorted(d["path"] for d in listed) == ["docs/chart.png", "docs/매출.md", "photo.png"]

    asked = cli.json("ask", "분기별 매출 차트", "--image", "photo.png")
    shown_paths = {"docs/chart.png", "docs/매출.md"}
    assert asked["sources"] and {source["source"] for source in asked["sources"]} <= shown_paths
    kinds = [image["kind"] for image in asked["images"]]
    assert kinds == ["user", "retrieved"], kinds
    user, retrieved = asked["images"]
    assert absolute(user["source"]) and retrieved["source"] == "docs/chart.png"
    for image in asked["images"]:
        for key in ("image_path", "thumbnail_path"):
            if key in image:
                assert absolute(image[key]), (key, image[key])
