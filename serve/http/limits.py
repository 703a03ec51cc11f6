"""What one request may cost a server, and the checks made before any work.

:class:`ServerLimits` are the numbers (the ``serve_*`` settings, shared by the worker and the RAG
API). :class:`RequestLimits` holds a chat request to the cheap ones: images, new tokens, prompt
length. Each is checked from the parsed request alone, in microseconds, so a request over one is
refused before it waits in the queue, decodes an image or tokenizes a word. The prompt's length
is only bounded from below here (:mod:`~serve.http.prompt_floor`); its exact count comes later,
when it is encoded. Each server names itself in its refusals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from serve.http.prompt_floor import PromptFloor
from serve.http.protocol import ChatCompletionRequest, RequestError

if TYPE_CHECKING:
    from rag.config import Settings


@dataclass(frozen=True, kw_only=True)
class ServerLimits:
    """What one request may cost a server: the ``[server]`` section of the settings.

    The GPU worker and the RAG API hold requests to the same limits, from the same settings.
    """

    max_queue: int = 16
    max_concurrency: int = 2
    timeout: float = 300.0
    max_images: int = 4
    max_prompt_tokens: int = 16384
    max_body_bytes: int = 64 * 1024 * 1024
    max_new_tokens: int = 4096
    read_timeout: float = 60.0
    max_messages: int = 128
    max_message_chars: int = 65_536
    max_embedding_inputs: int = 512
    max_embedding_input_chars: int = 32_768
    max_embedding_chars: int = 1_048_576

    @staticmethod
    def settings_values(settings: Settings) -> dict[str, Any]:
        """The limits' values from settings (the ``[server]`` section), by field name."""
        return settings.server.model_dump()


def with_overrides(values: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the ``overrides`` that are not None (a command line's unset options)."""
    return {**values, **{name: value for name, value in overrides.items() if value is not None}}


@dataclass(frozen=True)
class RequestLimits:
    """What one request may ask for.

    Attributes:
        max_images: Image parts across all messages.
        max_new_tokens: The largest ``max_tokens`` / ``max_completion_tokens``.
        max_prompt_tokens: Prompt tokens, images expanded.
        max_messages: Messages in the request.
        max_message_chars: Characters of text in one message.
        server: What refuses, in the messages ("worker", "RAG API").

    """

    max_images: int
    max_new_tokens: int
    max_prompt_tokens: int
    max_messages: int
    max_message_chars: int
    server: str = "worker"

    @classmethod
    def of(cls, limits: ServerLimits, server: str = "worker") -> RequestLimits:
        """A server's limits on one chat request."""
        return cls(
            limits.max_images,
            limits.max_new_tokens,
            limits.max_prompt_tokens,
            limits.max_messages,
            limits.max_message_chars,
            server,
        )

    def check(self, parsed: ChatCompletionRequest, floor: PromptFloor) -> None:
        """Refuse what is over a limit.

        Raises:
            RequestError: 400 naming the field, the limit and its setting.

        """
        if len(parsed.messages) > self.max_messages:
            msg = (
                f"messages: {len(parsed.messages):,} messages in one request; this "
                f"{self.server} accepts at most {self.max_messages:,} (server.max_messages)"
            )
            raise RequestError(400, msg, param="messages")
        for index, message in enumerate(parsed.messages):
            length = message.text_length()
            if length > self.max_message_chars:
                param = f"messages[{index}].content"
                msg = (
                    f"{param}: {length:,} characters of text; this {self.server} accepts at "
                    f"most {self.max_message_chars:,} in one message (server.max_message_chars)"
                )
                raise RequestError(400, msg, param=param)
        if parsed.image_count() > self.max_images:
            msg = (
                f"{parsed.image_count()} images in one request; this {self.server} accepts at "
                f"most {self.max_images} (server.max_images)"
            )
            raise RequestError(400, msg, param="messages")
        asked = parsed.max_new_tokens()
        if asked is not None and asked[1] > self.max_new_tokens:
            field, tokens = asked
            msg = (
                f"{field}: {tokens:,} new tokens asked for; this {self.server} generates at most "
                f"{self.max_new_tokens:,} (server.max_new_tokens)"
            )
            raise RequestError(400, msg, param=field)
        least = floor.tokens(parsed)
        if least > self.max_prompt_tokens:
            msg = (
                f"the prompt is at least {least:,} tokens (estimated from its "
                f"{parsed.text_length():,} characters of text); this {self.server} accepts at "
                f"most {self.max_prompt_tokens:,} (server.max_prompt_tokens)"
            )
            raise RequestError(400, msg, param="messages", code="context_length_exceeded")
