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
from ui.auth import Identity, current_identity
from ui.i18n import init_language, t
from ui.metrics import METRICS_FILE, GenerationLog


@st.cache_resource(show_spinner=False)
def _assistant(_settings: Settings, key: str) -> Assistant:
    # ``key`` (the settings as JSON) is what the cache hashes; the object is built from them.
    return Assistant(_settings)


@st.cache_resource(show_spinner=False)
def _embeddings_loaded(_assistant: Assistant, key: str) -> bool:
    # Loading inside the cache means concurrent sessions wait for one load instead of racing.
    _ = _assistant.embeddings
    return True


@st.cache_resource(show_spinner=False)
def generation_log(data_dir: Path) -> GenerationLog:
    """The timing log under ``data_dir``."""
    return GenerationLog(Path(data_dir).expanduser() / METRICS_FILE)


def assistant(settings: Settings) -> Assistant:
    """The shared :class:`Assistant` for ``settings``."""
    return _assistant(settings, settings.model_dump_json())


def with_embeddings(settings: Settings) -> Assistant:
    """The assistant, its embedder loaded (with a spinner the first time)."""
    shared = assistant(settings)
    with st.spinner(t("loading_embedder")):
        _embeddings_loaded(shared, settings.model_dump_json())
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
        st.error(f"Configuration error / 설정 오류: {error}")
        st.stop()
    init_language(settings)
    identity = current_identity(settings)
    return AppContext(settings, assistant(settings), identity, generation_log(settings.data_dir))
