"""Generation on another machine: ``ChatOpenAI`` against our GPU worker or a vLLM server.

Both speak the OpenAI chat API, so the chain needs no special client: the sampling settings are the
same ones local generation uses, and the prompt the server renders is the one the local budget
counted (the worker renders with :mod:`rag.generation.prompt`; vLLM with the checkpoint's template).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from rag.errors import ConfigError
from rag.generation.llm.stops import END_OF_TURN_ID

if TYPE_CHECKING:
    from rag.config import Settings


def worker_base_url(url: str) -> str:
    """The OpenAI base URL of a worker or vLLM server (``/v1`` added when missing)."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


def remote_chat_model(settings: Settings) -> BaseChatModel:
    """``ChatOpenAI`` against ``generation.worker_url`` (our worker or vLLM), same sampling.

    The model name sent is ``generation.model``: our worker serves whatever it was started
    with, and vLLM must be started with ``--served-model-name`` set to the same value.
    """
    from langchain_openai import ChatOpenAI

    generation = settings.generation
    if generation.worker_url is None:
        msg = "generation.worker_url is not set"
        raise ConfigError(msg)
    key = generation.worker_api_key.get_secret_value() if generation.worker_api_key else "none"
    return ChatOpenAI(
        model=generation.model,
        base_url=worker_base_url(generation.worker_url),
        api_key=SecretStr(key),  # the client insists on one; an open worker ignores it
        max_completion_tokens=generation.max_new_tokens,  # the field max_tokens, by its alias
        temperature=generation.temperature,
        top_p=generation.top_p,
        streaming=True,
        stream_usage=True,
        extra_body={"stop_token_ids": [END_OF_TURN_ID]},
    )
