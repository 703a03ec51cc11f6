"""A saved conversation as the store keeps it: its turns, and what each answer cited.

A turn keeps what its person was shown: the question, the answer, and each numbered source
with its passage and the id of its document (what the share link's access check reads). An
image the person attached is not kept, only that there was one; a retrieved image is shown
again from its stored thumbnail while its document holds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

TITLE_CHARS = 80


@dataclass(frozen=True)
class SavedSource:
    """One numbered source of a saved answer.

    Attributes:
        number: Its ``[n]`` in the answer.
        document_id: The document it came from (``docs list`` names it so).
        source: The document's path.
        page: Its page, if it has pages.
        text: The passage shown.
        score: Its relevance when it was retrieved.
        thumbnail: The stored thumbnail of an image passage, if any.

    """

    number: int
    document_id: str
    source: str
    page: int | None
    text: str
    score: float
    thumbnail: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape (``bllossom-rag`` exports and the web app's download)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SavedSource:
        """The source a :meth:`to_json` wrote."""
        return cls(
            number=int(data["number"]),
            document_id=str(data["document_id"]),
            source=str(data["source"]),
            page=data.get("page"),
            text=str(data["text"]),
            score=float(data["score"]),
            thumbnail=data.get("thumbnail"),
        )


@dataclass(frozen=True)
class SavedTurn:
    """One question and its answer.

    Attributes:
        question: As asked.
        answer: As shown (empty when generation failed).
        collection: Where it was asked.
        sources: What the answer cited, numbered as in the answer.
        error: Why no answer came, when none did.
        image: Whether the person attached an image (which is not kept).
        asked_at: When (Unix time).

    """

    question: str
    answer: str
    collection: str
    sources: tuple[SavedSource, ...] = ()
    error: str | None = None
    image: bool = False
    asked_at: float = 0.0

    @property
    def answered(self) -> bool:
        """Whether the turn has an answer a follow-up can build on."""
        return bool(self.answer) and self.error is None

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape of a turn."""
        return {
            "question": self.question,
            "answer": self.answer,
            "collection": self.collection,
            "sources": [source.to_json() for source in self.sources],
            "error": self.error,
            "image": self.image,
            "asked_at": self.asked_at,
        }


@dataclass(frozen=True)
class Conversation:
    """A person's conversation.

    Attributes:
        id: Its id (random, unguessable).
        owner: Who it belongs to: the web app's ``Identity.who``.
        title: What the history list shows (the first question, until renamed).
        collection: The collection it was last asked in: reopening it picks that one again.
        created_at: When it started (Unix time).
        updated_at: Its last turn or change.
        share_token: The read-only link's token, while it is shared.
        turns: Its turns, oldest first (empty when only the list was read).

    """

    id: str
    owner: str
    title: str
    collection: str
    created_at: float
    updated_at: float
    share_token: str | None = None
    turns: tuple[SavedTurn, ...] = field(default=())

    def cited(self) -> list[tuple[str, str]]:
        """Every ``(collection, document id)`` its answers cite, once each, in order."""
        seen = {
            (turn.collection, source.document_id): None
            for turn in self.turns
            for source in turn.sources
        }
        return list(seen)

    def with_turns(self, turns: Sequence[SavedTurn]) -> Conversation:
        """The same conversation holding ``turns``."""
        return replace(self, turns=tuple(turns))

    def to_json(self) -> dict[str, Any]:
        """The JSON export: the conversation, its turns and their sources (no share token)."""
        return {
            "id": self.id,
            "title": self.title,
            "collection": self.collection,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "turns": [turn.to_json() for turn in self.turns],
        }


def title_of(question: str) -> str:
    """A new conversation's title: its first question on one line, cut to a list's width."""
    line = " ".join(question.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"
