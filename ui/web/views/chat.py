"""Chat: ask (optionally with an image), watch the answer stream, see what it was based on.

A question is asked as part of the conversation on the page: a follow-up ("그럼 대통령은?") is
searched and answered with the turns before it, until "new conversation" starts over. Every turn
is saved (:mod:`ui.web.conversations`): the sidebar lists the person's conversations to reopen,
rename, export, share or delete. Under each answer: the images that went into the prompt, the
numbered passages behind its ``[n]`` citations (each answer keeps its own), and thumbs up/down,
kept with the question, the conversation and the sources (``bllossom-rag feedback export``
makes an eval set of them). Answers and passages are untrusted text and are shown through
:mod:`ui.web.safe_markdown`, never as HTML. A failed generation leaves a message in the
conversation (the sources that were retrieved are still shown, the turn is not part of later
questions' history) and the rest of the app works on.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import streamlit as st

from rag.errors import BllossomRagError
from rag.generation.result import AnswerStream, ChainResult
from ui.web import conversations as saved
from ui.web.conversations import CONVERSATION_KEY
from ui.web.i18n import t
from ui.web.metrics import GenerationTimer
from ui.web.resources import app_context, ready_assistant
from ui.web.safe_markdown import MarkdownGuard, literal_markdown
from ui.web.services import chat as services
from ui.web.services import sources as source_services
from ui.web.services.common import readable_collections
from ui.web.turns import (
    Turn,
    show_answer,
    show_checked,
    show_finished,
    show_question,
    show_sources,
)
from ui.web.welcome import clicked_example, show_welcome
from ui.web.widgets import pick_collection

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "gif", "bmp"]


def conversation(turns: list[Turn]) -> list[tuple[str, str]]:
    """The answered turns as ``(question, answer)`` pairs: what a follow-up is asked after."""
    return [(turn.question, turn.answer) for turn in turns if turn.answer and not turn.error]


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
        show_question(turn)
    with st.chat_message("assistant"):
        show_finished(turn, _turn_key(index))
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
infos = {info.name: info for info in readable_collections(assistant, context.identity.access)}
names = list(infos)
saved.follow_link(context, "chat_collection")
history = saved.page_history()

with st.sidebar:
    collection = pick_collection(names, settings.collection, key="chat_collection")
    # The administrator's defaults ([generation], [retrieval]); closed: most people never look.
    with st.expander(t("generation_settings"), icon=":material/tune:", expanded=False):
        st.caption(t("generation_settings_help"))
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
    saved.conversation_sidebar(context, "chat_collection")

st.title(t("chat_title"))
for index in range(len(history)):
    show_turn(history, index)

prompt = st.chat_input(
    t("chat_placeholder"),
    max_chars=settings.conversation.max_question_chars,
    accept_file=True,
    file_type=IMAGE_TYPES,
    max_upload_size=settings.ui.max_upload_mb,
    disabled=collection is None,
)

asked = prompt.text if prompt else clicked_example()  # typed, or an example clicked
if collection is None:
    st.info(t("no_collections"))
    st.page_link("views/library.py", label=t("go_library"), icon=":material/library_books:")
elif not history and asked is None:
    show_welcome(assistant.store, infos[collection], context.identity.access)

if asked is not None and collection is not None:
    turn = Turn(question=asked.strip() or t("describe_image"), collection=collection)
    image = None
    if prompt and prompt.files:
        try:
            image, turn.user_thumbnail = services.read_user_image(
                prompt.files[0].getvalue(), settings.max_image_pixels
            )
        except BllossomRagError as error:
            turn.error = t("image_unreadable", error=error)
    turn.had_image = bool(prompt and prompt.files)
    with st.chat_message("user"):
        show_question(turn)
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
                        show_checked(turn)
            if turn.sources or turn.error:  # the fixed "not covered" answer generated nothing
                context.log.record(
                    timer.sample(collection, services.generation_backend(settings), turn.error)
                )
        else:
            st.error(literal_markdown(turn.error))
        show_sources(turn, _turn_key(len(history)))
        history.append(turn)
        if saved.remember(context, turn):
            st.rerun()  # the sidebar lists it, the page shows it as saved
        show_rating(history, len(history) - 1)
