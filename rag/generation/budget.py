"""The prompt's token budget: count exactly, then give up images before passages.

A prompt's length is its text tokens plus, for each image, the tokens the LLaVA-NeXT processor
expands it into (up to 2,928 for one picture). Both are counted without running the model or the
image processor: the rendered text goes through the tokenizer with each image as its one ``<image>``
placeholder, and each placeholder is then replaced by the processor's own count for that image size
(:class:`~rag.generation.image_tokens.ImageTokens`), which is exact for every size. The rendered
text and its count are kept, so nothing downstream (``ask --json``) renders it again.

When the prompt is over budget, the cheapest loss goes first. A retrieved image is worth
thousands of tokens but its caption stays in the prompt as its passage, so images go first
(lowest-ranked first) and fall back to their captions. Then a conversation's earlier turns go,
oldest exchange first: the passages were retrieved for this turn, with the conversation, and
keep priority over what was said before. Last, passages are trimmed from the lowest-ranked end
(the last one cut to fit if enough of it is left, else dropped). Citation numbers of the
passages that remain never change. The user's own images and the question are never cut: if
they alone do not fit, that is an error the user can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage

from rag.errors import PromptTooLongError
from rag.generation.chat_format import to_chat_text
from rag.generation.image_tokens import ImageTokens
from rag.generation.prompt import PromptImage, build_messages, render_chat

# A passage cut shorter than this is dropped instead: a stub is noise, not evidence.
MIN_PASSAGE_TOKENS = 32
TRUNCATION_MARK = " …"


@dataclass(frozen=True)
class FittedPrompt:
    """What fits: the passages and images to render, the rendered prompt and its exact length.

    Attributes:
        documents: The passages that fit, numbered from 1 in this order.
        images: The image slots that fit, in prompt order.
        history: The earlier turns that fit, oldest first.
        tokens: The prompt's length, each image counted as the tokens it expands into.
        text: The prompt as the model sees it (special tokens included), each image as one
            ``<image>`` placeholder.

    """

    documents: list[Document]
    images: list[PromptImage]
    tokens: int
    text: str
    history: list[HumanMessage | AIMessage]


class PromptBudget:
    """Counts prompts in model tokens and trims them to a limit.

    Args:
        tokenizer: The generator's tokenizer (with its chat template).
        image_tokens: Prompt tokens of an image from its width and height.
        limit: The most prompt tokens allowed, images counted expanded.

    """

    def __init__(self, tokenizer: Any, image_tokens: Callable[[int, int], int], limit: int) -> None:
        self.tokenizer = tokenizer
        self.image_tokens = image_tokens
        self.limit = limit

    @classmethod
    def from_processor(cls, processor: Any, limit: int) -> PromptBudget:
        """A budget for a loaded LLaVA-NeXT processor."""
        return cls(processor.tokenizer, ImageTokens(processor), limit)

    def count(
        self,
        question: str,
        documents: Sequence[Document],
        images: Sequence[PromptImage] = (),
        history: Sequence[HumanMessage | AIMessage] = (),
    ) -> int:
        """Exact prompt tokens of :func:`~rag.generation.prompt.build_messages` for these parts."""
        return self._measure(question, documents, images, history)[1]

    def _measure(
        self,
        question: str,
        documents: Sequence[Document],
        images: Sequence[PromptImage],
        history: Sequence[HumanMessage | AIMessage] = (),
    ) -> tuple[str, int]:
        """The rendered prompt and its exact length."""
        messages = build_messages(question, documents, images=images, history=history)
        chat = to_chat_text(messages)
        text = render_chat(self.tokenizer, chat)
        placeholders = len(images)  # each <image> is one token until the processor expands it
        tokens = (
            self._length(text)
            - placeholders
            + sum(self.image_tokens(image.width, image.height) for image in images)
        )
        return text, tokens

    def fit(
        self,
        question: str,
        documents: Sequence[Document],
        images: Sequence[PromptImage] = (),
        history: Sequence[HumanMessage | AIMessage] = (),
    ) -> FittedPrompt:
        """The largest prompt under the limit: drop retrieved images, earlier turns, passages.

        Args:
            question: The user's question.
            documents: Passages, best first.
            images: The user's images first, then retrieved ones, best first.
            history: Earlier turns, oldest first (see
                :func:`~rag.generation.prompt.history_messages`).

        Raises:
            PromptTooLongError: The question and the user's images alone are over the limit.

        """
        kept_images = list(images)
        kept = list(documents)
        turns = list(history)

        def measure() -> tuple[str, int]:
            return self._measure(question, kept, kept_images, turns)

        text, tokens = measure()
        while tokens > self.limit and any(image.number is not None for image in kept_images):
            last = max(i for i, image in enumerate(kept_images) if image.number is not None)
            del kept_images[last]
            text, tokens = measure()
        while tokens > self.limit and turns:
            del turns[0]  # the oldest exchange goes whole: its question, then its answer
            while turns and turns[0].type != "human":
                del turns[0]
            text, tokens = measure()
        while tokens > self.limit and kept:
            shorter = self._shortened(kept[-1], tokens - self.limit)
            if shorter is None:
                kept.pop()
            else:
                kept[-1] = shorter
            text, tokens = measure()
        if tokens > self.limit:
            what = "the question and your image" if kept_images else "the question"
            msg = (
                f"{what} alone need {tokens:,} prompt tokens, over the prompt_token_budget of "
                f"{self.limit:,}; shorten the question, send a smaller image, or raise "
                "BLLOSSOM_RAG_GENERATION__PROMPT_TOKEN_BUDGET"
            )
            raise PromptTooLongError(msg)
        return FittedPrompt(
            documents=kept, images=kept_images, tokens=tokens, text=text, history=turns
        )

    def _shortened(self, document: Document, over: int) -> Document | None:
        """The passage cut by ``over`` tokens (plus the mark), or None if too little is left."""
        ids = self.tokenizer(document.page_content, add_special_tokens=False)["input_ids"]
        keep = len(ids) - over - self._length(TRUNCATION_MARK)
        if keep < MIN_PASSAGE_TOKENS:
            return None
        # A cut can split a multi-byte character (Hangul is 2-3 byte tokens): drop the stub.
        text = self.tokenizer.decode(ids[:keep]).rstrip("\ufffd").rstrip() + TRUNCATION_MARK
        metadata = {**document.metadata, "truncated": True}
        return Document(id=document.id, page_content=text, metadata=metadata)

    def _length(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
