"""Settings: environment over TOML file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in (
        "BLLOSSOM_RAG_EMBEDDING_MODEL",
        "BLLOSSOM_RAG_GENERATOR_MODEL",
        "BLLOSSOM_RAG_TOP_K",
        "BLLOSSOM_RAG_DATA_DIR",
        "BLLOSSOM_RAG_CONFIG",
        "BLLOSSOM_RAG_DEVICE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_design_defaults():
    settings = Settings()
    assert settings.embedding_model == "BAAI/bge-m3"
    assert settings.generator_model == "Bllossom/llama-3.1-Korean-Bllossom-Vision-8B"
    assert settings.worker_url is None


def test_toml_file_in_working_directory(tmp_path: Path):
    (tmp_path / "bllossom-rag.toml").write_text('top_k = 7\nembedding_model = "/models/e5"\n')
    settings = Settings()
    assert (settings.top_k, settings.embedding_model) == (7, "/models/e5")


def test_env_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "bllossom-rag.toml").write_text("top_k = 7\n")
    monkeypatch.setenv("BLLOSSOM_RAG_TOP_K", "3")
    monkeypatch.setenv("BLLOSSOM_RAG_WORKER_API_KEY", "s3cret")
    settings = Settings()
    assert settings.top_k == 3
    assert settings.worker_api_key is not None
    assert settings.worker_api_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_named_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    named = tmp_path / "elsewhere.toml"
    named.write_text('data_dir = "/srv/rag"\n')
    monkeypatch.setenv("BLLOSSOM_RAG_CONFIG", str(named))
    assert Settings().data_dir == Path("/srv/rag")


def test_missing_named_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BLLOSSOM_RAG_CONFIG", "/nope/config.toml")
    with pytest.raises(ConfigError, match="not a file"):
        Settings()
