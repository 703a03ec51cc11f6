"""The retrieval query of a chat turn: the follow-up read together with the conversation.

"국회의원의 임기는?" then "그럼 대통령은?": searched alone, the follow-up finds passages about the
president in general, not about the president's term. ``query_rewrite`` says how a turn is
searched:

- ``mix`` (the default) needs no model call. The follow-up and the earlier user turns are
  searched together, each earlier turn weighing ``history_decay`` times the turn after it (1, then
  0.5, 0.25, ...). The dense search embeds every turn (one batched call) and searches with the
  weighted sum of their vectors, normalized. The keyword search gives each term the weight of
  the latest turn that has it, squared (0.25 for the previous question): the previous question's
  exact words are all in the passage that answered it, so at full weight they pull that passage
  back above the new one, while the dense mix only moves the query toward the topic (on the
  benchmark's conversations, squaring gained 5-10 points of recall@1 at equal recall@5). It is
  deterministic and cheap, it works with any generator (the offline tiny one included), and a
  change of topic costs little: the new turn outweighs each old one.
- ``llm``: the generator first rewrites the follow-up into a standalone question, in the
  question's language, and that is searched alone. It can resolve what a bag of words cannot
  ("그 사람의 고향은?"), but costs one generation per follow-up and is only as good as the model;
  an empty rewrite falls back to ``mix``.
- ``off``: the follow-up alone (the baseline the benchmark compares with).

Only the user's turns are searched. An answer repeats its passages' words, so searching it would
pull the previous turn's passages back up instead of finding the new ones. A first question (no
history) is searched exactly as a one-off question is, whatever the mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable

from rag.text.language import answer_language
from rag.text.morphemes import tokenize_many

if TYPE_CHECKING:
    from rag.embeddings.base import TextEmbeddings
    from rag.store import KeywordQuery

QueryRewrite = Literal["off", "mix", "llm"]

REWRITE_RULES = (
    "Rewrite the user's last question so that it can be understood without the conversation: "
    "replace pronouns and omitted words with what they refer to. Keep the question's language. "
    "Reply with the rewritten question only, on one line.\n"
    "대화를 보지 않아도 이해되도록 사용자의 마지막 질문을 다시 쓰세요. 대명사와 생략된 말은 "
    "가리키는 대상으로 바꾸고, 질문의 언어를 유지하세요. 다시 쓴 질문 한 줄만 답하세요."
)
_WRITE_IN = {"ko": "Write it in Korean. 한국어로 쓰세요.", "en": "Write it in English."}
# An earlier answer tells the rewriter what "it" was; its first few sentences are enough.
ANSWER_CHARS = 400


@dataclass(frozen=True)
class RetrievalQuery:
    """What one turn searches for: texts with weights, oldest first, the question last at 1.

    Attributes:
        turns: ``(text, weight)`` pairs.

    """

    turns: tuple[tuple[str, float], ...]

    @classmethod
    def of(cls, text: str) -> RetrievalQuery:
        """A query of one text (a first question, or a rewritten one)."""
        return cls(((text, 1.0),))

    @property
    def text(self) -> str:
        """The texts together, oldest first: what a reranker reads and what callers are shown."""
        return "\n".join(text for text, _ in self.turns)

    def keywords(self) -> KeywordQuery:
        """The text itself for one turn; else each term at the squared weight of its latest turn."""
        if len(self.turns) == 1:
            return self.turns[0][0]
        weights: dict[str, float] = {}
        tokens = tokenize_many([text for text, _ in self.turns])
        for terms, (_, weight) in zip(tokens, self.turns, strict=True):
            for term in terms:
                weights[term] = max(weights.get(term, 0.0), weight**2)
        return weights

    def vector(self, embeddings: TextEmbeddings) -> np.ndarray:
        """The query embedding: the turns' embeddings summed by weight, normalized."""
        if len(self.turns) == 1:
            return embeddings.encode_query(self.turns[0][0])
        vectors = embeddings.encode_queries([text for text, _ in self.turns])
        mixed = np.asarray([weight for _, weight in self.turns], np.float32) @ vectors
        return mixed / max(float(np.linalg.norm(mixed)), 1e-12)


def user_turns(history: Sequence[BaseMessage]) -> list[str]:
    """The text of the user's earlier turns, oldest first (images and blank turns left out)."""
    return [m.text.strip() for m in history if m.type == "human" and m.text.strip()]


@dataclass(frozen=True)
class FollowUps:
    """How a turn's retrieval query is made from the question and the conversation before it.

    Attributes:
        mode: ``mix``, ``llm`` or ``off`` (see the module docstring).
        decay: Weight of an earlier turn relative to the turn after it (``mix``).
        turns: Earlier user turns taken into account, the latest ones.
        llm: The generator that rewrites follow-ups (``llm`` mode only).
        topic_changes: A turn that leaves its conversation behind is searched alone
            (:mod:`rag.retrieval.topic_change`).

    """

    mode: QueryRewrite = "mix"
    decay: float = 0.5
    turns: int = 3
    llm: Runnable[Any, Any] | None = None
    topic_changes: bool = True

    def may_change_topic(self, question: str, query: RetrievalQuery) -> bool:
        """Whether ``query`` mixes in a conversation that ``question`` may have left behind.

        True for a mixed query (``mix``, or ``llm`` falling back to it) whose question does not
        refer back to its conversation (:func:`rag.retrieval.topic_change.refers_back`): the
        caller then searches the question alone too, and gives no passages if that finds none.
        """
        from rag.retrieval.topic_change import refers_back

        return self.topic_changes and len(query.turns) > 1 and not refers_back(question)

    def query(self, question: str, history: Sequence[BaseMessage] = ()) -> RetrievalQuery:
        """The retrieval query for ``question`` asked after ``history``."""
        earlier = user_turns(history)[-self.turns :] if self.turns else []
        if not earlier or self.mode == "off":
            return RetrievalQuery.of(question)
        if self.mode == "llm" and self.llm is not None:
            rewritten = self.rewrite(question, history)
            if rewritten:
                return RetrievalQuery.of(rewritten)
        weighted = [(text, self.decay ** (len(earlier) - i)) for i, text in enumerate(earlier)]
        return RetrievalQuery((*weighted, (question, 1.0)))

    def rewrite(self, question: str, history: Sequence[BaseMessage]) -> str:
        """The follow-up as a standalone question by the generator ("" when it gives none)."""
        assert self.llm is not None
        lines = []
        for message in history[-2 * self.turns :]:
            if message.type == "human":
                lines.append(f"User: {message.text.strip()}")
            elif message.type == "ai":
                lines.append(f"Assistant: {message.text.strip()[:ANSWER_CHARS]}")
        task = f"Conversation:\n{chr(10).join(lines)}\n\nLast question: {question.strip()}"
        language = answer_language(question)
        if language is not None:
            task += f"\n\n{_WRITE_IN[language]}"
        # Greedy and one line: a rewrite is a lookup key, not prose.
        writer = self.llm.bind(temperature=0.0, stop=["\n"]) | StrOutputParser()
        text = writer.invoke([SystemMessage(content=REWRITE_RULES), HumanMessage(content=task)])
        return next((line.strip(" \"'") for line in text.splitlines() if line.strip()), "")
