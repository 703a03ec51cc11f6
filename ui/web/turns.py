"""A chat turn as the pages show it, drawn live, reopened from the store, or shared read-only.

:class:`Turn` is what the Chat page keeps of a question and its answer; :func:`saved_turn` and
:func:`opened_turn` carry it to and from :class:`rag.conversations.SavedTurn`, which is what the
store keeps (the passages and their documents, not the images' bytes: an image the person
attached is remembered only as having been there). Answers and passages are untrusted text and
are drawn through :mod:`ui.web.safe_markdown`, never as HTML.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from rag.conversations import SavedSource, SavedTurn
from rag.generation.result import Source
from ui.web import source_viewer
from ui.web.i18n import t
from ui.web.safe_markdown import literal_markdown, safe_markdown, split_code_blocks
from ui.web.services import chat as services


@dataclass
class Turn:
    """One question and its answer, as kept in the session's history."""

    question: str
    collection: str
    user_thumbnail: bytes | None = None
    answer: str = ""
    sources: list[services.SourceView] = field(default_factory=list)
    images: list[services.PromptImage] = field(default_factory=list)
    error: str | None = None
    had_image: bool = False  # the person attached one (a reopened turn no longer has it)
    support: list[dict[str, Any]] = field(default_factory=list)  # the support check's sentences


def saved_turn(turn: Turn) -> SavedTurn:
    """What the store keeps of ``turn``."""
    sources = tuple(
        SavedSource(
            number=view.citation.number,
            document_id=view.document_id,
            source=view.citation.source,
            page=view.citation.page,
            text=view.citation.text,
            score=view.citation.score,
            thumbnail=view.thumbnail,
        )
        for view in turn.sources
    )
    return SavedTurn(
        question=turn.question,
        answer=turn.answer,
        collection=turn.collection,
        sources=sources,
        error=turn.error,
        image=turn.had_image or turn.user_thumbnail is not None,
        asked_at=time.time(),
    )


def opened_turn(saved: SavedTurn) -> Turn:
    """A stored turn as the pages show it again."""
    sources = [
        services.SourceView(
            Source(s.number, "", s.source, s.page, s.text, s.score), s.thumbnail, s.document_id
        )
        for s in saved.sources
    ]
    return Turn(
        question=saved.question,
        collection=saved.collection,
        answer=saved.answer,
        sources=sources,
        error=saved.error,
        had_image=saved.image,
    )


def show_question(turn: Turn) -> None:
    """The person's question, with their image (or a note that it was not kept)."""
    st.markdown(safe_markdown(turn.question))
    if turn.user_thumbnail:
        st.image(turn.user_thumbnail, width=120)
    elif turn.had_image:
        st.caption(t("image_not_kept"))


def show_answer(text: str) -> None:
    """A finished answer: prose as safe Markdown, code blocks as plain code."""
    for block in split_code_blocks(text):
        if block.language is None:
            st.markdown(safe_markdown(block.text))
        else:
            st.code(block.text, language=block.language)


def show_sources(turn: Turn, key: str) -> None:
    """Prompt images, then the numbered passages, under an answer (``key`` names the answer)."""
    if turn.images:
        st.caption(t("images_in_prompt"))
        columns = st.columns(min(len(turn.images), 4))
        for column, image in zip(itertools.cycle(columns), turn.images, strict=False):
            caption = (  # an image's caption is Markdown: the file name must stay text
                t("your_image")
                if image.number is None
                else literal_markdown(f"[{image.number}] {Path(image.source).name}")
            )
            column.image(image.thumbnail, caption=caption, width=160)
    if not turn.sources:
        if not turn.error:
            st.caption(t("no_sources"))
        return
    with st.expander(t("sources", count=len(turn.sources)), expanded=True):
        source_viewer.show_sources_list(turn.sources, key)


def show_checked(turn: Turn) -> None:
    """A finished answer, its unsupported sentences marked, and the note listing them."""
    show_answer(source_viewer.marked_answer(turn.answer, turn.support))
    source_viewer.show_support_note(turn.support)


def show_finished(turn: Turn, key: str) -> None:
    """A past turn's answer, its failure if it failed, and its sources (``key`` names it)."""
    show_checked(turn)
    if turn.error:
        st.error(literal_markdown(turn.error))
    show_sources(turn, key)
