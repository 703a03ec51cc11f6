"""A conversation written out: Markdown to read or paste, JSON to keep or process.

The words around the content (headings, "Sources") are the caller's, so the web app writes them
in its own language; questions, answers and passages are written as they were, answers as the
Markdown they are and passages quoted.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import PurePath

from rag.conversations.records import Conversation


@dataclass(frozen=True)
class ExportWords:
    """The words of a Markdown export, in its reader's language."""

    question: str = "Question"
    answer: str = "Answer"
    sources: str = "Sources"
    collection: str = "Collection"
    page: str = "p. {page}"
    no_answer: str = "No answer: {error}"


def as_markdown(conversation: Conversation, words: ExportWords = ExportWords()) -> str:
    """The conversation as a Markdown document."""
    started = dt.datetime.fromtimestamp(conversation.created_at).strftime("%Y-%m-%d %H:%M")
    lines = [
        f"# {conversation.title}",
        "",
        f"{words.collection}: {conversation.collection} · {started}",
    ]
    for number, turn in enumerate(conversation.turns, start=1):
        lines += ["", f"## {number}. {words.question}", "", turn.question, ""]
        lines += [f"### {words.answer}", ""]
        lines.append(
            turn.answer if turn.error is None else words.no_answer.format(error=turn.error)
        )
        if turn.sources:
            lines += ["", f"**{words.sources}**", ""]
        for source in turn.sources:
            where = PurePath(source.source).name
            if source.page is not None:
                where += ", " + words.page.format(page=source.page)
            passage = " ".join(source.text.split())
            lines.append(f"{source.number}. {where}")
            lines.append(f"   > {passage}")
    return "\n".join(lines) + "\n"


def as_json(conversation: Conversation) -> str:
    """The conversation as one JSON document (:meth:`Conversation.to_json`)."""
    return json.dumps(conversation.to_json(), ensure_ascii=False, indent=2) + "\n"
