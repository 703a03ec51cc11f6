"""Heavy objects, loaded once per process and shared by every session, and the page context.

Streamlit reruns a page script on every interaction; anything expensive (the store, the
embedder, the generator) therefore lives in ``st.cache_resource``, keyed by the settings it was
built from, so a changed configuration gets new objects and tests with different data folders
never share a store. The objects themselves are thread-safe where they are shared: the store
serializes SQLite use, the models only read their weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from rag.assistant import Assistant
from rag.config import Settings, load_settings
from rag.errors import BllossomRagError
from ui.web.auth import Identity, current_identity
from ui.web.i18n import init_language, t
from ui.web.metrics import METRICS_FILE, GenerationLog
from ui.web.safe_markdown import literal_markdown


@st.cache_resource(show_spinner=False)
def _assistant(_settings: Settings, key: str) -> Assistant:
    # ``key`` is what the cache hashes; the store opens here, once, not in racing sessions.
    shared = Assistant(_settings)
    _ = shared.store
    return shared


@st.cache_resource(show_spinner=False)
def _models_ready(_assistant: Assistant, key: str) -> bool:
    # Inside the cache, concurrent sessions wait for one load instead of racing: the embedder
    # loads here; the chat model is only built (its weights load on the first answer).
    _ = _assistant.embeddings, _assistant.llm
    return True


@st.cache_resource(show_spinner=False)
def generation_log(data_dir: Path) -> GenerationLog:
    """The timing log under ``data_dir``."""
    return GenerationLog(Path(data_dir).expanduser() / METRICS_FILE)


def _key(settings: Settings) -> str:
    # The UI's own settings (sign-in, language, upload size) do not change the assistant.
    return settings.model_dump_json(exclude={"ui"})


def assistant(settings: Settings) -> Assistant:
    """The shared :class:`Assistant` for ``settings`` (store open, models not loaded)."""
    return _assistant(settings, _key(settings))


def ready_assistant(settings: Settings) -> Assistant:
    """The shared assistant with its embedder loaded (a spinner shows the first time)."""
    shared = assistant(settings)
    with st.spinner(t("loading_embedder")):
        _models_ready(shared, _key(settings))
    return shared


@dataclass(frozen=True)
class AppContext:
    """What every page needs: configuration, the assistant, the user, the timing log."""

    settings: Settings
    assistant: Assistant
    identity: Identity
    log: GenerationLog


def app_context() -> AppContext:
    """Settings, language and identity for this run; stops the page on a configuration error."""
    try:
        settings = load_settings()
    except BllossomRagError as error:
        st.error(literal_markdown(f"Configuration error / 설정 오류: {error}"))
        st.stop()
    init_language(settings)
    shared = assistant(settings)
    identity = current_identity(settings, shared.store)
    return AppContext(settings, shared, identity, generation_log(settings.data_dir))
