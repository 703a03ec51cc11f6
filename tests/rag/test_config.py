"""Settings: environment over TOML file over defaults, and one clear line for every mistake."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.config import NOT_SETTINGS, Settings, load_settings
from rag.errors import ConfigError
from rag.runtime.models import resolve_device


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in list(os.environ):
        if name.startswith("BLLOSSOM_RAG_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_design_defaults():
    settings = Settings()
    assert settings.embedding.model == "BAAI/bge-m3"
    assert settings.generation.model == "Bllossom/llama-3.1-Korean-Bllossom-Vision-8B"
    assert settings.generation.worker_url is None


def test_toml_file_in_working_directory(tmp_path: Path):
    (tmp_path / "bllossom-rag.toml").write_text(
        "[retrieval]\ntop_k = 7\n[retrieval.fusion]\nkeyword_weight = 0.4\n"
        '[embedding]\nmodel = "/models/e5"\n'
    )
    settings = Settings()
    assert (settings.retrieval.top_k, settings.embedding.model) == (7, "/models/e5")
    assert settings.retrieval.fusion.keyword_weight == 0.4


def test_env_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "bllossom-rag.toml").write_text("[retrieval]\ntop_k = 7\n")
    monkeypatch.setenv("BLLOSSOM_RAG_RETRIEVAL__TOP_K", "3")
    monkeypatch.setenv("BLLOSSOM_RAG_GENERATION__WORKER_API_KEY", "s3cret-s3cret-s3cret")
    monkeypatch.setenv("BLLOSSOM_RAG_RETRIEVAL__FUSION__METHOD", "rrf")
    settings = Settings()
    assert settings.retrieval.top_k == 3
    assert settings.retrieval.fusion.method == "rrf"
    assert settings.generation.worker_api_key is not None
    assert settings.generation.worker_api_key.get_secret_value() == "s3cret-s3cret-s3cret"
    assert "s3cret" not in repr(settings)


def test_old_flat_names_still_work_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    (tmp_path / "bllossom-rag.toml").write_text(
        'top_k = 7\nocr = "off"\napi_keys = {k1-7f3a91bc2e4d58 = ["hr"]}\n'
    )
    monkeypatch.setenv("BLLOSSOM_RAG_FUSION_KEYWORD_WEIGHT", "0.3")
    monkeypatch.setenv("BLLOSSOM_RAG_UI_USER_GROUPS", '{"kim@x.kr": ["hr"]}')
    with caplog.at_level("WARNING", logger="bllossom_rag.config"):
        settings = load_settings()
    assert settings.retrieval.top_k == 7
    assert settings.ingest.ocr.mode == "off"
    assert settings.api.keys == {"k1-7f3a91bc2e4d58": ["hr"]}
    assert settings.retrieval.fusion.keyword_weight == 0.3
    assert settings.ui.user_groups == {"kim@x.kr": ["hr"]}
    notes = [record.getMessage() for record in caplog.records]
    assert "bllossom-rag.toml: top_k is an old name; write [retrieval] top_k" in notes
    assert "bllossom-rag.toml: ocr is an old name; write [ingest.ocr] mode" in notes
    assert (
        "BLLOSSOM_RAG_FUSION_KEYWORD_WEIGHT is an old name; "
        "use BLLOSSOM_RAG_RETRIEVAL__FUSION__KEYWORD_WEIGHT"
    ) in notes
    assert all("\n" not in note for note in notes)


def test_one_value_under_its_old_and_new_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    assert config_error(tmp_path, "top_k = 7\n[retrieval]\ntop_k = 3\n") == (
        "bllossom-rag.toml: top_k sets retrieval.top_k, which is set under its new name too; "
        "keep one"
    )
    (tmp_path / "bllossom-rag.toml").unlink()
    monkeypatch.setenv("BLLOSSOM_RAG_TOP_K", "3")
    monkeypatch.setenv("BLLOSSOM_RAG_RETRIEVAL__TOP_K", "4")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        "BLLOSSOM_RAG_TOP_K and BLLOSSOM_RAG_RETRIEVAL__TOP_K are both set; "
        "remove BLLOSSOM_RAG_TOP_K"
    )


def test_named_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    named = tmp_path / "elsewhere.toml"
    named.write_text('data_dir = "/srv/rag"\n')
    monkeypatch.setenv("BLLOSSOM_RAG_CONFIG", str(named))
    assert Settings().data_dir == Path("/srv/rag")


def test_missing_named_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BLLOSSOM_RAG_CONFIG", "/nope/config.toml")
    with pytest.raises(ConfigError, match="not a file"):
        Settings()


def test_relative_paths_in_the_file_resolve_against_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    project = tmp_path / "project"
    (project / ".models" / "e5").mkdir(parents=True)
    (project / "models" / "gen").mkdir(parents=True)
    config = project / "bllossom-rag.toml"
    config.write_text(
        'data_dir = "store"\n'
        '[embedding]\nmodel = ".models/e5"\ncache_dir = "cache"\n'
        '[generation]\nmodel = "models/gen"\n'
        '[retrieval]\nreranker_model = "BAAI/bge-reranker-v2-m3"\n',
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("BLLOSSOM_RAG_CONFIG", str(config))
    settings = load_settings()
    assert settings.data_dir == project.resolve() / "store"
    assert Path(settings.embedding.model) == project.resolve() / ".models" / "e5"
    assert settings.embedding.cache_dir == project.resolve() / "cache"
    assert Path(settings.generation.model) == project.resolve() / "models" / "gen"
    assert settings.retrieval.reranker_model == "BAAI/bge-reranker-v2-m3"  # a hub name stays


def test_data_dir_is_absolute_from_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BLLOSSOM_RAG_DATA_DIR", "relative/store")
    assert load_settings().data_dir == tmp_path / "relative" / "store"


def test_explicit_settings_are_known_wherever_they_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    assert "model" not in load_settings().embedding.model_fields_set
    (tmp_path / "bllossom-rag.toml").write_text('[embedding]\nmodel = "/models/e5"\n')
    assert "model" in load_settings().embedding.model_fields_set
    (tmp_path / "bllossom-rag.toml").unlink()
    monkeypatch.setenv("BLLOSSOM_RAG_EMBEDDING__MODEL", "/models/e5")
    assert "model" in load_settings().embedding.model_fields_set
    monkeypatch.delenv("BLLOSSOM_RAG_EMBEDDING__MODEL")
    monkeypatch.setenv("BLLOSSOM_RAG_EMBEDDING_MODEL", "/models/e5")  # the old name
    assert "model" in load_settings().embedding.model_fields_set


def config_error(tmp_path: Path, text: str) -> str:
    (tmp_path / "bllossom-rag.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_toml_syntax_error_names_the_file_and_line(tmp_path: Path):
    message = config_error(tmp_path, "[retrieval]\ntop_k = 7\n\ndevice = gpu\n")
    assert message.startswith("bllossom-rag.toml: not valid TOML:")
    assert "line 4" in message


def test_file_that_is_not_utf8_is_one_line(tmp_path: Path):
    (tmp_path / "bllossom-rag.toml").write_bytes('collection = "휴가"\n'.encode("cp949"))
    with pytest.raises(ConfigError, match=r"bllossom-rag.toml: not valid TOML"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "key", "suggestion"),
    [
        ("top-k = 7\n", "top-k", "retrieval.top_k"),
        ("embeding_model = 7\n", "embeding_model", "embedding.model"),
        ("Top_K = 7\n", "Top_K", "retrieval.top_k"),
        ("[retrieval]\ntopk = 7\n", "retrieval.topk", "retrieval.top_k"),
        (
            "[retrieval.fusion]\nkeyword-weight = 1\n",
            "retrieval.fusion.keyword-weight",
            "retrieval.fusion.keyword_weight",
        ),
        ("[retreival]\ntop_k = 7\n", "retreival", "retrieval"),
    ],
)
def test_unknown_key_in_the_file_is_refused_with_the_close_match(
    tmp_path: Path, text: str, key: str, suggestion: str
):
    message = config_error(tmp_path, text)
    assert message == f"bllossom-rag.toml: unknown setting {key!r} (did you mean {suggestion}?)"


def test_unknown_key_without_a_close_match(tmp_path: Path):
    assert config_error(tmp_path, "colour = 1\n").endswith("unknown setting 'colour'")


def test_unknown_variable_is_refused_with_the_close_match(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BLLOSSOM_RAG_EMBEDING_MODEL", "/models/e5")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        "unknown environment variable BLLOSSOM_RAG_EMBEDING_MODEL "
        "(did you mean BLLOSSOM_RAG_EMBEDDING__MODEL?)"
    )
    monkeypatch.delenv("BLLOSSOM_RAG_EMBEDING_MODEL")
    monkeypatch.setenv("BLLOSSOM_RAG_RETRIEVAL__TOPK", "7")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        "unknown environment variable BLLOSSOM_RAG_RETRIEVAL__TOPK "
        "(did you mean BLLOSSOM_RAG_RETRIEVAL__TOP_K?)"
    )


def test_variables_that_are_not_settings_are_allowed(monkeypatch: pytest.MonkeyPatch):
    for name in NOT_SETTINGS - {"BLLOSSOM_RAG_CONFIG"}:
        monkeypatch.setenv(name, "/somewhere")
    assert load_settings().retrieval.top_k == 5


def test_bad_variable_names_itself_and_its_value(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BLLOSSOM_RAG_RETRIEVAL__TOP_K", "abc")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(
        "invalid setting retrieval.top_k (BLLOSSOM_RAG_RETRIEVAL__TOP_K='abc'): "
    )
    monkeypatch.delenv("BLLOSSOM_RAG_RETRIEVAL__TOP_K")
    monkeypatch.setenv("BLLOSSOM_RAG_TOP_K", "abc")  # the old name
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value).startswith(
        "invalid setting retrieval.top_k (BLLOSSOM_RAG_TOP_K='abc'): "
    )


def test_bad_value_in_the_file_names_the_file(tmp_path: Path):
    message = config_error(tmp_path, '[retrieval]\nmode = "fuzzy"\n')
    assert message.startswith(
        "invalid setting retrieval.mode ([retrieval] mode = 'fuzzy' in bllossom-rag.toml): "
    )


def test_variable_that_is_not_json_names_itself(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BLLOSSOM_RAG_UI__USER_GROUPS", "{kim: hr}")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        "invalid setting ui.user_groups (BLLOSSOM_RAG_UI__USER_GROUPS='{kim: hr}'): not valid JSON"
    )
    monkeypatch.delenv("BLLOSSOM_RAG_UI__USER_GROUPS")
    monkeypatch.setenv("BLLOSSOM_RAG_UI_USER_GROUPS", "{kim: hr}")  # the old name
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        "invalid setting ui.user_groups (BLLOSSOM_RAG_UI_USER_GROUPS='{kim: hr}'): not valid JSON"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[ingest]\nchunk_overlap = 64\nchunk_tokens = 64\n",
            "ingest.chunk_overlap (64) must be smaller than ingest.chunk_tokens (64)",
        ),
        (
            "[ingest]\nchunk_overlap = 300\n",
            "ingest.chunk_overlap (300) must be smaller than ingest.chunk_tokens (256)",
        ),
        (
            "[retrieval.fusion]\nevidence_floor = 0.7\n",
            "retrieval.fusion.evidence_floor (0.7) must be at most "
            "retrieval.fusion.evidence_full (0.6)",
        ),
        (
            "[generation]\nmax_images = 1\nmax_retrieved_images = 2\n",
            "generation.max_retrieved_images (2) must be at most generation.max_images (1)",
        ),
        (  # the old names reach the same rule
            "chunk_overlap = 64\nchunk_tokens = 64\n",
            "ingest.chunk_overlap (64) must be smaller than ingest.chunk_tokens (64)",
        ),
    ],
)
def test_rules_between_settings_name_both(tmp_path: Path, text: str, message: str):
    assert config_error(tmp_path, text) == f"invalid settings: {message}"


def test_rules_allow_the_boundary(tmp_path: Path):
    (tmp_path / "bllossom-rag.toml").write_text(
        "[retrieval.fusion]\nevidence_floor = 0.5\nevidence_full = 0.5\n"
        "[generation]\nmax_images = 1\nmax_retrieved_images = 1\n"
        "[ingest]\nchunk_overlap = 63\nchunk_tokens = 64\n"
    )
    assert load_settings().generation.max_retrieved_images == 1


@pytest.mark.parametrize("device", ["gpu", "cuda0", "CUDA", "cuda:x", ""])
def test_device_names_torch_would_not_know_are_refused(tmp_path: Path, device: str):
    message = config_error(tmp_path, f"device = {device!r}\n".replace("'", '"'))
    assert message.startswith(f"invalid setting device (device = {device!r} in bllossom-rag.toml)")
    assert "use auto, cpu, cuda or cuda:N" in message


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", "mps"])
def test_device_names_torch_knows_are_accepted(device: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BLLOSSOM_RAG_DEVICE", device)
    assert load_settings().device == device


def test_a_device_this_machine_lacks_is_refused_before_loading():
    with pytest.raises(ConfigError, match=r"device is 'cuda:99' but this machine has"):
        resolve_device("cuda:99")
    assert resolve_device("cpu") == "cpu"


def test_a_bad_store_url_is_refused_without_repeating_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BLLOSSOM_RAG_STORE__URL", "mysql://reader:s3cret-pw@db/rag")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert "store.url" in message and "postgresql://" in message
    assert "s3cret-pw" not in message and "BLLOSSOM_RAG_STORE__URL=<hidden>" in message
    monkeypatch.delenv("BLLOSSOM_RAG_STORE__URL")
    (tmp_path / "bllossom-rag.toml").write_text('[store]\nurl = "sqlite:///x?password=pw1"\n')
    monkeypatch.setenv("BLLOSSOM_RAG_CONFIG", str(tmp_path / "bllossom-rag.toml"))
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "pw1" not in str(raised.value) and "<hidden>" in str(raised.value)


def test_a_store_url_selects_postgres_and_stays_secret(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BLLOSSOM_RAG_STORE_URL", "postgresql://rag:pw2@db/rag")  # the old name
    settings = load_settings()
    assert settings.store.url is not None
    assert settings.store.url.get_secret_value() == "postgresql://rag:pw2@db/rag"
    assert "pw2" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("API__KEYS", '{"": ["hr"]}', "a key is empty or blank (an unset variable?)"),
        ("API__KEYS", '{"   ": []}', "a key is empty or blank"),
        ("API__KEYS", '{"changeme": ["hr"]}', "a key is shorter than 16 characters"),
        ("API__KEYS", '{" k-7f3a91bc2e4d5860": []}', "a key starts or ends with spaces"),
        ("WORKER__API_KEY", "", "a key is empty or blank"),
        ("WORKER__API_KEY", "test-key", "a key is shorter than 16 characters"),
        ("GENERATION__WORKER_API_KEY", " ", "a key is empty or blank"),
    ],
)
def test_keys_anyone_could_send_are_refused_naming_the_setting_not_the_key(
    variable: str, value: str, reason: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(f"BLLOSSOM_RAG_{variable}", value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    setting = variable.lower().replace("__", ".")
    message = str(refused.value)
    assert message.startswith(
        f"invalid setting {setting} (BLLOSSOM_RAG_{variable}=<hidden>): {reason}"
    )
    assert "\n" not in message and "changeme" not in message and "test-key" not in message


def test_a_key_of_sixteen_characters_is_accepted(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BLLOSSOM_RAG_API__KEYS", '{"0123456789abcdef": ["hr"]}')
    monkeypatch.setenv("BLLOSSOM_RAG_WORKER__API_KEY", "0123456789abcdef")
    settings = load_settings()
    assert settings.api.keys == {"0123456789abcdef": ["hr"]}
