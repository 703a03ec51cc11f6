"""The one place settings become a chat model: remote when ``worker_url`` is set, else local."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel

from rag.llm.local import ChatBllossom
from rag.llm.remote import remote_chat_model

if TYPE_CHECKING:
    from rag.config import Settings


def chat_model(settings: Settings) -> BaseChatModel:
    """``ChatOpenAI`` on ``worker_url`` when it is set, else in-process :class:`ChatBllossom`."""
    if settings.worker_url:
        return remote_chat_model(settings)
    return ChatBllossom.from_settings(settings)
