"""A deterministic chat model that answers by rule from its prompt, for tests and demos.

The random-weight LLaVA-NeXT the tests run proves the generation code, but its answers are
noise, so a test of what an answer says and cites could only check that it is not empty.
:class:`ScriptedChatModel` reads the numbered passages of the prompt it is given (the
``<passage id=N>`` fences of :func:`rag.generation.prompt.format_passages`) and fills in a
template: ``{1}`` is the first sentence of passage 1, ``{2}`` of passage 2, ``{question}`` the
question; ``[n]`` marks are copied as written. The default, ``{1} [1]``, quotes the best
passage and cites it, as a careful model would; ``{1} [2]`` cites the wrong one on purpose.
Everything else is the real path: the same chain, prompt, budget, streaming (one piece per word)
and token usage, so a test through the command line, the RAG API or the browser can assert the
exact answer text and its citations. It is what LangChain's fake models are to its own tests;
``generation.scripted_answer`` selects it from the settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk
from pydantic import Field

from rag.generation.llm.base import StreamedChatModel

DEFAULT_SCRIPT = "{1} [1]"
_PASSAGE = re.compile(r"<passage id=(\d+)>\n(.*?)\n</passage>", re.DOTALL)
_QUESTION = re.compile(r"^Question: (.*?)(?:\n\n|\Z)", re.MULTILINE | re.DOTALL)
_PLACEHOLDER = re.compile(r"\{(\d+|question)\}")
# A sentence ends at . ? ! or 。 followed by a space or the end, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.?!。])\s|\n")
_PIECE = re.compile(r"\S+\s*|\s+")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")


def first_sentence(text: str) -> str:
    """The first sentence of a passage's prose (a line without a sentence mark is one).

    Markdown heading lines (``## 연차 휴가``) are titles, not sentences, and are passed over.
    """
    lines = text.strip().split("\n")
    while len(lines) > 1 and _HEADING.match(lines[0]):
        lines.pop(0)
    prose = "\n".join(lines).strip()
    return _SENTENCE_END.split(prose, maxsplit=1)[0].strip() if prose else ""


def passages_of(prompt: str) -> dict[int, str]:
    """Citation number -> passage text, as the prompt's fences hold them."""
    return {int(number): text for number, text in _PASSAGE.findall(prompt)}


class ScriptedChatModel(StreamedChatModel):
    """Answers with a template filled from the prompt's passages (see the module docstring).

    Example:
        .. code-block:: python

            llm = ScriptedChatModel(script="{1} [1]")
            chain = build_rag_chain(retriever, llm)

    """

    script: str = Field(default=DEFAULT_SCRIPT, description="The answer template.")

    @property
    def _llm_type(self) -> str:
        return "bllossom-rag-scripted"

    def answer(self, messages: list[BaseMessage]) -> str:
        """The template filled from the last user message of ``messages``."""
        prompt = next((m.text for m in reversed(messages) if m.type == "human"), "")
        passages = passages_of(prompt)
        asked = _QUESTION.search(prompt)
        question = asked.group(1).strip() if asked else prompt.strip()

        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            if key == "question":
                return question
            return first_sentence(passages.get(int(key), ""))

        return " ".join(_PLACEHOLDER.sub(fill, self.script).split())

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        text = self.answer(messages)
        pieces = _PIECE.findall(text)
        for piece in pieces:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        prompt_words = sum(len(m.text.split()) for m in messages)
        usage = UsageMetadata(
            input_tokens=prompt_words,
            output_tokens=len(pieces),
            total_tokens=prompt_words + len(pieces),
        )
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="", usage_metadata=usage, response_metadata={"finish_reason": "stop"}
            )
        )
