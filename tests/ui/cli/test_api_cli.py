"""``bllossom-rag api`` and ``serve`` in-process: what they refuse before they start serving."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import app


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("API__KEYS", "not json", "Error: invalid setting api.keys"),
        # the keys are secrets: the message names the setting, never its value
        (
            "API__KEYS",
            '{"sk-7f3a": "hr"}',
            "Error: invalid setting api.keys (BLLOSSOM_RAG_API__KEYS=<hidden>)",
        ),
        ("API__PORT", "70000", "Error: invalid setting api.port"),
    ],
)
def test_a_bad_api_setting_is_one_line(
    setting: str, value: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)  # no stray bllossom-rag.toml
    result = CliRunner().invoke(app, ["api"], env={f"BLLOSSOM_RAG_{setting}": value})
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1
    assert "sk-7f3a" not in result.output


def test_a_missing_model_folder_fails_before_serving(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "no-such-model"
    result = CliRunner().invoke(
        app,
        ["api"],
        env={"BLLOSSOM_RAG_EMBEDDING__MODEL": str(missing), "BLLOSSOM_RAG_API__PORT": "1"},
    )
    assert result.exit_code == 1 and "Serving" not in result.output
    assert result.output.startswith("Error: embedding model folder not found")


@pytest.mark.parametrize(
    ("arguments", "env", "message"),
    [
        (
            ["api"],
            {"BLLOSSOM_RAG_API__KEYS": '{"": ["hr"]}'},
            "Error: invalid setting api.keys (BLLOSSOM_RAG_API__KEYS=<hidden>): a key is empty",
        ),
        (["serve", "--api-key", ""], {}, "Error: --api-key: a key is empty or blank"),
        (["serve", "--api-key", "hunter2"], {}, "Error: --api-key: a key is shorter than 16"),
    ],
)
def test_a_server_never_starts_with_a_key_anyone_could_send(
    arguments: list[str],
    env: dict[str, str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, arguments, env=env)
    assert result.exit_code == 1 and "Serving" not in result.output
    assert result.output.startswith(message) and result.output.count("\n") == 1
    assert "hunter2" not in result.output
