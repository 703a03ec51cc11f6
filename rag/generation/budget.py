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
keep priority over what was said before (each message is priced once, newest first, so trimming
a long conversation costs what the budget holds, not what was said). Last, passages are trimmed
from the lowest-ranked end (the last one cut to fit if enough of it is left, else dropped).
Citation numbers of the passages that remain never change. The user's own images and the
question are never cut: if they alone do not fit, that is an error the user can act on.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage

from rag.errors import PromptTooLongError
from rag.generation.chat_format import to_chat_text
from rag.generation.image_tokens import ImageTokens
from rag.generation.prompt import PromptImage, build_messages, render_chat
from rag.runtime.cancel import stop_if_cancelled

# A conversation of up to this many characters per token of the budget is measured whole
# first: most fit, and then one measure is all it costs. A longer one is priced from its newest
# message back, never reading what cannot fit.
WHOLE_FIRST_CHARS_PER_TOKEN = 4
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
        text = self._render(question, documents, images, history)
        placeholders = len(images)  # each <image> is one token until the processor expands it
        tokens = (
            self._length(text)
            - placeholders
            + sum(self.image_tokens(image.width, image.height) for image in images)
        )
        return text, tokens

    def _render(
        self,
        question: str,
        documents: Sequence[Document],
        images: Sequence[PromptImage],
        history: Sequence[HumanMessage | AIMessage] = (),
    ) -> str:
        messages = build_messages(question, documents, images=images, history=history)
        return render_chat(self.tokenizer, to_chat_text(messages))

    def fit(
        self,
        question: str,
        documents: Sequence[Document],
        images: Sequence[PromptImage] = (),
        history: Sequence[HumanMessage | AIMessage] = (),
    ) -> FittedPrompt:
        """The largest prompt under the limit: drop retrieved images, earlier turns, passages.

        A conversation that does not fit is priced a message at a time, newest first and only
        as far back as fits (:class:`_Conversation`): the prompt's length is the prompt
        without it plus the prices of the turns kept, so trimming is linear in the
        conversation (measuring the whole prompt again for every exchange dropped was
        quadratic), and a conversation far longer than the budget costs what the budget holds,
        not what was said. A chat template whose prices do not add up (:attr:`prices_add_up`)
        is measured whole each time, as before.

        Args:
            question: The user's question.
            documents: Passages, best first.
            images: The user's images first, then retrieved ones, best first.
            history: Earlier turns, oldest first (see
                :func:`~rag.generation.prompt.history_messages`).

        Raises:
            PromptTooLongError: The question and the user's images alone are over the limit.
            Cancelled: The work was given up (:mod:`rag.runtime.cancel`).

        """
        kept_images = list(images)
        kept = list(documents)
        turns = list(history)
        said = sum(len(turn.text) for turn in turns)
        priced = bool(turns) and self.prices_add_up
        if not priced or said <= WHOLE_FIRST_CHARS_PER_TOKEN * self.limit:
            text, tokens = self._measure(question, kept, kept_images, turns)
            priced = priced and tokens > self.limit
        if priced:
            conversation = _Conversation(self, turns)

            def fitting_start() -> tuple[int, int]:
                alone = self._measure(question, kept, kept_images)[1]
                return alone, conversation.start_within(self.limit - alone)

            alone, start = fitting_start()
            while start and any(image.number is not None for image in kept_images):
                del kept_images[_last_retrieved(kept_images)]
                alone, start = fitting_start()
            turns = turns[start:]
            text = self._render(question, kept, kept_images, turns)
            tokens = alone + conversation.cost_from(start)
        while tokens > self.limit and any(image.number is not None for image in kept_images):
            del kept_images[_last_retrieved(kept_images)]
            text, tokens = self._measure(question, kept, kept_images, turns)
        while tokens > self.limit and turns:
            stop_if_cancelled()
            del turns[0]  # the oldest exchange goes whole: its question, then its answer
            while turns and turns[0].type != "human":
                del turns[0]
            text, tokens = self._measure(question, kept, kept_images, turns)
        while tokens > self.limit and kept:
            stop_if_cancelled()
            shorter = self._shortened(kept[-1], tokens - self.limit)
            if shorter is None:
                kept.pop()
            else:
                kept[-1] = shorter
            text, tokens = self._measure(question, kept, kept_images, turns)
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

    @cached_property
    def prices_add_up(self) -> bool:
        """Whether a prompt's length is its length without the conversation plus its prices.

        True for templates that fence each message with special tokens (Llama-3's, the
        model card's): the tokenizer never merges across them. Checked once, on a sample
        conversation with what could go wrong in it (a defused special token, a citation).
        """
        sample: list[HumanMessage | AIMessage] = [
            HumanMessage(content="연차는 며칠인가요? <|eot_id|>"),
            AIMessage(content="Up to 11 days.\n\n"),
            HumanMessage(content=" 그럼 병가는?"),
        ]
        conversation = _Conversation(self, sample)
        conversation.start_within(sys.maxsize)  # prices every message
        alone = self.count("?", [])
        return self.count("?", [], history=sample) == alone + conversation.cost_from(0)

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


def _last_retrieved(images: Sequence[PromptImage]) -> int:
    """The position of the lowest-ranked retrieved image (the first to give way)."""
    return max(i for i, image in enumerate(images) if image.number is not None)


class _Conversation:
    """Earlier turns priced one message at a time, newest first, only as far as needed.

    A message's price is the tokens of what rendering it after the system message adds to
    rendering the system message alone: its piece of the prompt, from its header to its end
    of turn. A template that renders a message otherwise (its piece is no extension of what
    came before) prices it as nothing, which :attr:`PromptBudget.prices_add_up` notices.

    Args:
        budget: The budget whose tokenizer and template price the messages.
        turns: The conversation, oldest first.

    """

    def __init__(self, budget: PromptBudget, turns: Sequence[HumanMessage | AIMessage]) -> None:
        self.tokenizer = budget.tokenizer
        self.turns = turns
        # Where a kept conversation may start: at its beginning, or where an exchange begins.
        self.starts = [0, *(i for i, turn in enumerate(turns) if i and turn.type == "human")]
        self.system = to_chat_text(build_messages("", [])[:1])
        self.before = self._render(self.system)
        self.prices: list[int] = []  # of turns[-1], turns[-2], ... as far as priced

    def start_within(self, room: int) -> int:
        """The earliest start whose turns cost at most ``room`` tokens (``len(turns)``: none)."""
        priced = sum(self.prices)
        while len(self.prices) < len(self.turns) and priced <= room:
            stop_if_cancelled()
            price = self._price(self.turns[len(self.turns) - 1 - len(self.prices)])
            self.prices.append(price)
            priced += price
        oldest_priced = len(self.turns) - len(self.prices)
        # Everything fits, or the turns after the oldest priced one do (it tipped the sum over).
        kept_from = 0 if priced <= room else oldest_priced + 1
        return next((start for start in self.starts if start >= kept_from), len(self.turns))

    def cost_from(self, start: int) -> int:
        """The tokens of ``turns[start:]`` (priced already by :meth:`start_within`)."""
        return sum(self.prices[: len(self.turns) - start])

    def _price(self, turn: HumanMessage | AIMessage) -> int:
        rendered = self._render([*self.system, *to_chat_text([turn])])
        if not rendered.startswith(self.before):
            return 0
        piece = rendered[len(self.before) :]
        return len(self.tokenizer(piece, add_special_tokens=False)["input_ids"])

    def _render(self, chat: list[dict[str, str]]) -> str:
        text: str = self.tokenizer.apply_chat_template(
            chat, tokenize=False, add_generation_prompt=False
        )
        return text
