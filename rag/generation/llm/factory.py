"""The one place settings become a chat model: remote when ``worker_url`` is set, else local.

:func:`sampling` is its companion for one request: the same sampling choices, under the names
each of the two models reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel

from rag.generation.llm.local import ChatBllossom
from rag.generation.llm.remote import remote_chat_model
from rag.generation.llm.scripted import ScriptedChatModel

if TYPE_CHECKING:
    from rag.config import Settings


def chat_model(settings: Settings) -> BaseChatModel:
    """The chat model the settings name.

    :class:`ScriptedChatModel` when ``generation.scripted_answer`` is set, else ``ChatOpenAI``
    on ``generation.worker_url`` when that is set, else in-process :class:`ChatBllossom`.
    """
    if settings.generation.scripted_answer is not None:
        return ScriptedChatModel(script=settings.generation.scripted_answer)
    if settings.generation.worker_url:
        return remote_chat_model(settings)
    return ChatBllossom.from_settings(settings)


def sampling(
    llm: BaseChatModel,
    *,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``llm.bind(...)`` with one request's sampling (None: the model's).

    In-process Bllossom calls the length limit ``max_new_tokens``, OpenAI-compatible clients
    ``max_tokens``; both read these overrides at call time.
    """
    length = "max_new_tokens" if isinstance(llm, ChatBllossom) else "max_tokens"
    chosen = {length: max_tokens, "temperature": temperature, "top_p": top_p}
    return {name: value for name, value in chosen.items() if value is not None}
