"""Chat: ask (optionally with an image), watch the answer stream, see what it was based on.

A question is asked as part of the conversation on the page: a follow-up ("그럼 대통령은?") is
searched and answered with the turns before it, until "new conversation" starts over. Under each
answer: the images that went into the prompt, the numbered passages behind its ``[n]``
citations (each answer keeps its own), and thumbs up/down, kept with the question, the
conversation and the sources (``bllossom-rag feedback export`` makes an eval set of them).
Answers and passages are untrusted text and are shown through :mod:`ui.web.safe_markdown`,
never as HTML. A failed generation leaves a message in the conversation (the sources that were
retrieved are still shown, the turn is not part of later questions' history) and the rest of
the app works on.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from rag.errors import BllossomRagError
from rag.generation.result import AnswerStream, ChainResult
from ui.web import source_viewer
from ui.web.i18n import t
from ui.web.metrics import GenerationTimer
from ui.web.resources import app_context, ready_assistant
from ui.web.safe_markdown import MarkdownGuard, literal_markdown, safe_markdown, split_code_blocks
from ui.web.services import chat as services
from ui.web.services import sources as source_services
from ui.web.services.common import readable_collections
from ui.web.widgets import pick_collection

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "gif", "bmp"]
HISTORY_KEY = "chat_history"
CONVERSATION_KEY = "chat_conversation"  # counts new conversations: the rating widgets' keys


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
    support: list[dict[str, Any]] = field(default_factory=list)  # the support check's sentences


def conversation(turns: list[Turn]) -> list[tuple[str, str]]:
    """The answered turns as ``(question, answer)`` pairs: what a follow-up is asked after."""
    return [(turn.question, turn.answer) for turn in turns if turn.answer and not turn.error]


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


def show_answer(text: str) -> None:
    """A finished answer: prose as safe Markdown, code blocks as plain code."""
    for block in split_code_blocks(text):
        if block.language is None:
            st.markdown(safe_markdown(block.text))
        else:
            st.code(block.text, language=block.language)


def rate(turns: list[Turn], index: int, key: str) -> None:
    """Keep the rating just given to ``turns[index]`` (the widget's 1 = up, 0 = down)."""
    given = st.session_state.get(key)
    if given is None:
        return
    turn = turns[index]
    services.record_feedback(
        context.settings,
        turn.collection,
        turn.question,
        conversation(turns[:index]),
        turn.answer,
        turn.sources,
        1 if given == 1 else -1,
    )


def show_rating(turns: list[Turn], index: int) -> None:
    """Thumbs up/down under an answer (none under a failed one)."""
    turn = turns[index]
    if turn.answer and not turn.error:
        key = f"feedback-{st.session_state.get(CONVERSATION_KEY, 0)}-{index}"
        st.feedback("thumbs", key=key, on_change=rate, args=(turns, index, key))


def show_turn(turns: list[Turn], index: int) -> None:
    """Replay a past turn."""
    turn = turns[index]
    with st.chat_message("user"):
        st.markdown(safe_markdown(turn.question))
        if turn.user_thumbnail:
            st.image(turn.user_thumbnail, width=120)
    with st.chat_message("assistant"):
        show_answer(source_viewer.marked_answer(turn.answer, turn.support))
        source_viewer.show_support_note(turn.support)
        if turn.error:
            st.error(literal_markdown(turn.error))
        show_sources(turn, _turn_key(index))
        show_rating(turns, index)


def _turn_key(index: int) -> str:
    """What names a turn's widgets: the conversation and the turn's place in it."""
    return f"sources-{st.session_state.get(CONVERSATION_KEY, 0)}-{index}"


def answer_pieces(stream: AnswerStream, timer: GenerationTimer, turn: Turn) -> Iterator[str]:
    """Sanitized answer text for ``st.write_stream``."""
    guard = MarkdownGuard()
    for piece in stream:
        timer.answer_piece()
        turn.answer += piece
        if safe := guard.feed(piece):
            yield safe
    if rest := guard.finish():
        yield rest


context = app_context()
settings = context.settings
assistant = context.assistant
history: list[Turn] = st.session_state.setdefault(HISTORY_KEY, [])
names = [info.name for info in readable_collections(assistant, context.identity.access)]

with st.sidebar:
    collection = pick_collection(names, settings.collection, key="chat_collection")
    st.subheader(t("generation_settings"))
    top_k = st.slider(t("top_k"), 1, 20, min(settings.retrieval.top_k, 20), key="chat_top_k")
    max_new_tokens = st.slider(
        t("max_new_tokens"),
        1,
        4096,
        min(settings.generation.max_new_tokens, 4096),
        key="chat_max_tokens",
    )
    temperature = st.slider(
        t("temperature"),
        0.0,
        1.5,
        min(settings.generation.temperature, 1.5),
        0.05,
        key="chat_temperature",
    )
    top_p = st.slider(t("top_p"), 0.05, 1.0, settings.generation.top_p, 0.05, key="chat_top_p")
    if st.button(t("new_conversation"), icon=":material/add_comment:", disabled=not history):
        history.clear()
        st.session_state[CONVERSATION_KEY] = st.session_state.get(CONVERSATION_KEY, 0) + 1
        st.rerun()

st.title(t("chat_title"))
for index in range(len(history)):
    show_turn(history, index)

if collection is None:
    st.info(t("no_collections"))
    st.page_link("views/library.py", label=t("go_library"), icon=":material/library_books:")

prompt = st.chat_input(
    t("chat_placeholder"),
    accept_file=True,
    file_type=IMAGE_TYPES,
    max_upload_size=settings.ui.max_upload_mb,
    disabled=collection is None,
)

if prompt and collection is not None:
    turn = Turn(question=prompt.text.strip() or t("describe_image"), collection=collection)
    image = None
    if prompt.files:
        try:
            image, turn.user_thumbnail = services.read_user_image(
                prompt.files[0].getvalue(), settings.max_image_pixels
            )
        except BllossomRagError as error:
            turn.error = t("image_unreadable", error=error)
    with st.chat_message("user"):
        st.markdown(safe_markdown(turn.question))
        if turn.user_thumbnail:
            st.image(turn.user_thumbnail, width=120)
    with st.chat_message("assistant"):
        if turn.error is None:
            options = services.AskOptions(collection, top_k, max_new_tokens, temperature, top_p)
            timer = GenerationTimer()
            result = ChainResult()
            started = time.monotonic()
            try:
                ready_assistant(settings)
                stream = services.ask(
                    assistant,
                    turn.question,
                    image,
                    options,
                    context.identity.access,
                    [timer],
                    history=conversation(history),
                )
                result = stream.result
                pieces = answer_pieces(stream, timer, turn)
                answer_slot = st.empty()
                with answer_slot.container():
                    with st.spinner(t("thinking")):
                        first = next(pieces, "")
                    st.write_stream(itertools.chain([first], pieces))
                with answer_slot.container():  # the finished answer, code blocks as code
                    show_answer(turn.answer)
            except Exception as error:  # only failures a user can act on are shown; bugs re-raise
                turn.error = services.generation_failure(error, settings)
                if turn.error is None:
                    raise
                st.error(literal_markdown(turn.error))
            if result.question:  # the search ran: what it showed goes on the audit trail
                seconds = time.monotonic() - started
                assistant.record_answer(context.identity.actor, collection, result, seconds)
            turn.sources = services.source_views(result.documents)
            turn.images = services.prompt_images(result.images, turn.user_thumbnail)
            if turn.answer and not turn.error:
                checked = source_services.check_support(assistant, result)
                turn.support = [sentence.to_json() for sentence in checked]
                if turn.support:
                    with answer_slot.container():
                        show_answer(source_viewer.marked_answer(turn.answer, turn.support))
                        source_viewer.show_support_note(turn.support)
            if turn.sources or turn.error:  # the fixed "not covered" answer generated nothing
                context.log.record(
                    timer.sample(collection, services.generation_backend(settings), turn.error)
                )
        else:
            st.error(literal_markdown(turn.error))
        show_sources(turn, _turn_key(len(history)))
        history.append(turn)
        show_rating(history, len(history) - 1)
