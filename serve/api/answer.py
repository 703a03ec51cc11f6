"""One chat request's answer as a generation: the RAG chain streamed on the worker's thread.

The worker's :class:`~serve.http.generation.Generation` runs any blocking iterator of chunks
on a thread, with a cancel event; :class:`ChainAnswer` is that iterator for the RAG chain. The
chain streams what it retrieved first and then the answer; the retrieved part is kept here
(the response's ``sources`` come from it, once the first chunk is in), the answer pieces go out
as chunks. When the client leaves (or time is up), the cancel event is set: the chain stops at
its next step before the answer (:mod:`rag.runtime.cancel`), and a callback raises inside the
chat model before it starts or at its next token, wherever the chain is running it: in-process
Bllossom stops generating, ``ChatOpenAI`` drops its connection and the worker stops in turn.
(Closing the chain's stream is not enough: while the model is still working on its first
token, the chain holds it on a helper thread that a close does not reach.) The last chunk
reports the model's token usage and finish reason, read by a callback from the model's final
message; an answer that called no model (nothing retrieved) reports none. Before that last
chunk, the finished answer's cited sentences are checked against their passages (the support
check), so the response's ``support`` is ready when the answer is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk, LLMResult
from langchain_core.runnables import Runnable

from rag.generation.result import AnswerStream, ChainResult
from rag.generation.support import SentenceSupport
from rag.runtime.cancel import Cancelled, stop_if_cancelled
from serve.api.sources import source_json


class _ModelReport(BaseCallbackHandler):
    """The chat model's usage and finish reason, from its final message."""

    def __init__(self) -> None:
        self.usage: dict[str, int] | None = None
        self.finish_reason = "stop"

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        generation = response.generations[0][0]
        message = getattr(generation, "message", None)
        usage = getattr(message, "usage_metadata", None)
        if usage:
            self.usage = {name: int(usage[name]) for name in ("input_tokens", "output_tokens")}
        metadata = getattr(message, "response_metadata", None) or {}
        self.finish_reason = str(metadata.get("finish_reason") or self.finish_reason)


class _StopWhenCancelled(BaseCallbackHandler):
    """Stops the chat model before it starts, or at its next token, once cancelled."""

    raise_error = True  # LangChain swallows a callback's exception unless asked not to

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        stop_if_cancelled(self.cancel)

    def on_llm_new_token(self, token: Any, **kwargs: Any) -> None:
        stop_if_cancelled(self.cancel)


class ChainAnswer:
    """The chain's answer to one turn as chunks, keeping what it retrieved.

    Args:
        chain: The RAG chain (:meth:`~rag.assistant.Assistant.chain`).
        inputs: ``question``, ``images``, ``history``.
        on_end: Called with what the chain made of the turn once it ends, however it ends
            (the audit trail records what was shown).
        check: Checks the finished answer's cited sentences (the support check), on the
            generation's thread, before its last chunk.

    """

    def __init__(
        self,
        chain: Runnable[dict[str, Any], Any],
        inputs: dict[str, Any],
        on_end: Callable[[ChainResult], None] | None = None,
        check: Callable[[ChainResult], list[SentenceSupport]] | None = None,
    ) -> None:
        self.chain = chain
        self.inputs = inputs
        self.on_end = on_end
        self.check = check
        self.result = ChainResult()
        self.support: list[SentenceSupport] = []

    def sources(self) -> dict[str, Any]:
        """``{"sources": [...]}``: the passages in the prompt with their links (none: no answer)."""
        return {"sources": [source_json(source) for source in self.result.sources]}

    def checked(self) -> dict[str, Any]:
        """``{"support": [...]}``: each cited sentence checked (once the answer has ended)."""
        return {"support": [sentence.to_json() for sentence in self.support]}

    def __call__(self, cancel: threading.Event) -> Iterator[ChatGenerationChunk]:
        """Stream the chain until it ends or ``cancel`` is set; the usage chunk last."""
        report = _ModelReport()
        stream = AnswerStream(
            self.chain, self.inputs, config={"callbacks": [report, _StopWhenCancelled(cancel)]}
        )
        self.result = stream.result
        pieces = iter(stream)
        try:
            for piece in pieces:
                if cancel.is_set():
                    return
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        except Cancelled:
            return
        finally:
            pieces.close()
            if self.on_end is not None and self.result.question:
                self.on_end(self.result)  # whatever reached the client was shown
        if self.check is not None:
            self.support = self.check(self.result)
        used = report.usage or {"input_tokens": 0, "output_tokens": 0}
        usage = UsageMetadata(
            input_tokens=used["input_tokens"],
            output_tokens=used["output_tokens"],
            total_tokens=used["input_tokens"] + used["output_tokens"],
        )
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=usage,
                response_metadata={"finish_reason": report.finish_reason},
            )
        )
