"""The limits a chat request is held to before any work: images, new tokens, prompt length.

Each is checked from the parsed request alone, in microseconds, so a request over one is refused
before it waits in the queue, decodes an image or tokenizes a word. The prompt's length is only
bounded from below here (:mod:`~rag.worker.estimate`); its exact count comes later, when it is
encoded. The worker and the RAG API hold requests to the same limits, each under its own name.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.worker.estimate import PromptFloor
from rag.worker.protocol import ChatCompletionRequest, RequestError


@dataclass(frozen=True)
class RequestLimits:
    """What one request may ask for.

    Attributes:
        max_images: Image parts across all messages.
        max_new_tokens: The largest ``max_tokens`` / ``max_completion_tokens``.
        max_prompt_tokens: Prompt tokens, images expanded.
        server: What refuses, in the messages ("worker", "RAG API").

    """

    max_images: int
    max_new_tokens: int
    max_prompt_tokens: int
    server: str = "worker"

    def check(self, parsed: ChatCompletionRequest, floor: PromptFloor) -> None:
        """Refuse what is over a limit.

        Raises:
            RequestError: 400 naming the field and the limit.

        """
        if parsed.image_count() > self.max_images:
            msg = (
                f"{parsed.image_count()} images in one request; this {self.server} accepts at "
                f"most {self.max_images}"
            )
            raise RequestError(400, msg, param="messages")
        asked = parsed.max_new_tokens()
        if asked is not None and asked[1] > self.max_new_tokens:
            field, tokens = asked
            msg = (
                f"{field}: {tokens:,} new tokens asked for; this {self.server} generates at most "
                f"{self.max_new_tokens:,} (serve_max_new_tokens)"
            )
            raise RequestError(400, msg, param=field)
        least = floor.tokens(parsed)
        if least > self.max_prompt_tokens:
            msg = (
                f"the prompt is at least {least:,} tokens (estimated from its "
                f"{parsed.text_length():,} characters of text); this {self.server} accepts at "
                f"most {self.max_prompt_tokens:,}"
            )
            raise RequestError(400, msg, param="messages", code="context_length_exceeded")
