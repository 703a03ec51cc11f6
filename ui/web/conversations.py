"""Saved conversations on the Chat page: the history list; open, rename, export, share, delete.

Every turn asked on the page is saved in the store (:mod:`rag.conversations`) under the person
(``Identity.who``), so a reload, another browser or another instance of the app finds it. The
open conversation's id is in the page's address (``?c=``): reloading reopens it, with the
collection it was last asked in. The list and every action reach only the person's own
conversations. A share link (``/shared?s=``) shows a conversation read-only to whoever may read
every document it cites (:func:`rag.conversations.sharing.may_open`, checked on the shared page).
"""

from __future__ import annotations

import re
import urllib.parse

import streamlit as st

from rag.conversations import Conversation, SavedConversations
from rag.conversations.export import ExportWords, as_json, as_markdown
from rag.conversations.records import title_of
from ui.web.i18n import t
from ui.web.resources import AppContext
from ui.web.safe_markdown import literal_markdown
from ui.web.turns import Turn, opened_turn, saved_turn
from ui.web.widgets import local_time, select_collection_next_run

HISTORY_KEY = "chat_history"
CONVERSATION_KEY = "chat_conversation"  # counts conversations shown: the rating widgets' keys
OPEN_KEY = "chat_conversation_id"
LINK_PARAM = "c"
SHARE_PARAM = "s"
SHARED_PATH = "shared"
LISTED = 50
_UNSAFE_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def page_history() -> list[Turn]:
    """The turns on the page, oldest first (the open conversation's, or a new one's)."""
    history: list[Turn] = st.session_state.setdefault(HISTORY_KEY, [])
    return history


def follow_link(context: AppContext, collection_key: str) -> None:
    """Open the conversation the address names, or put the open one's id in the address.

    Call before the collection picker is drawn: opening selects the conversation's collection.
    """
    wanted = st.query_params.get(LINK_PARAM)
    current = st.session_state.get(OPEN_KEY)
    if wanted and wanted != current:
        if not _open(context, wanted, collection_key):
            del st.query_params[LINK_PARAM]
            st.warning(t("conversation_not_found"))
    elif current and not wanted:  # back from another page: the address forgot it
        st.query_params[LINK_PARAM] = current


def remember(context: AppContext, turn: Turn) -> bool:
    """Save ``turn`` (already on the page) in the open conversation, or start one with it.

    Returns:
        True when a conversation was started: the sidebar, drawn before, does not list it yet.

    """
    store, who = _saved(context), context.identity.who
    current = st.session_state.get(OPEN_KEY)
    if current and store.add_turn(current, who, saved_turn(turn)):
        return False
    # A new conversation, or the open one was deleted meanwhile: save the page's turns anew.
    history = page_history()
    started = store.start_conversation(who, title_of(history[0].question), turn.collection)
    for kept in history:
        store.add_turn(started.id, who, saved_turn(kept))
    st.session_state[OPEN_KEY] = started.id
    st.query_params[LINK_PARAM] = started.id
    return True


def conversation_sidebar(context: AppContext, collection_key: str) -> None:
    """The "new conversation" button, the saved conversations, and the open one's actions."""
    current = st.session_state.get(OPEN_KEY)
    if st.button(
        t("new_conversation"),
        icon=":material/add_comment:",
        disabled=not (page_history() or current),
    ):
        start_new()
        st.rerun()
    st.subheader(t("saved_conversations"))
    listed = _saved(context).conversations(context.identity.who, limit=LISTED)
    if not listed:
        st.caption(t("no_saved_conversations"))
    for item in listed:
        if st.button(
            literal_markdown(item.title),
            key=f"open-conversation-{item.id}",
            type="primary" if item.id == current else "tertiary",
            help=local_time(item.updated_at).strftime("%Y-%m-%d %H:%M"),
            width="stretch",
        ) and _open(context, item.id, collection_key):
            st.rerun()
    if current:
        opened = _saved(context).conversation(current, context.identity.who)
        if opened is not None:
            _actions(context, opened)


def start_new() -> None:
    """An empty page: the next question starts a new conversation."""
    _show(None, [])
    st.query_params.pop(LINK_PARAM, None)


def share_link(token: str) -> str:
    """The address of the shared page for ``token``, on the server the person is using."""
    here = urllib.parse.urlsplit(st.context.url or "")
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    path = f"/{base}/{SHARED_PATH}" if base else f"/{SHARED_PATH}"
    query = urllib.parse.urlencode({SHARE_PARAM: token})
    return urllib.parse.urlunsplit((here.scheme, here.netloc, path, query, ""))


def export_words() -> ExportWords:
    """The Markdown export's headings in the page's language."""
    return ExportWords(
        question=t("export_question"),
        answer=t("export_answer"),
        sources=t("export_sources"),
        collection=t("collection"),
        page=t("export_page"),
        no_answer=t("export_no_answer"),
    )


def _actions(context: AppContext, opened: Conversation) -> None:
    store, who = _saved(context), context.identity.who
    with st.expander(t("this_conversation"), icon=":material/tune:"):
        title = st.text_input(t("conversation_title"), value=opened.title, key=f"title-{opened.id}")
        if st.button(t("rename"), icon=":material/edit:") and title.strip():
            store.rename_conversation(opened.id, who, title_of(title))
            st.rerun()
        name = _UNSAFE_FILE_CHARS.sub("_", opened.title).strip(" ._") or "conversation"
        markdown, json_ = st.columns(2)
        markdown.download_button(
            "Markdown",
            as_markdown(opened, export_words()),
            file_name=f"{name}.md",
            mime="text/markdown",
            icon=":material/download:",
        )
        json_.download_button(
            "JSON",
            as_json(opened),
            file_name=f"{name}.json",
            mime="application/json",
            icon=":material/download:",
        )
        st.caption(t("share_explained"))
        if opened.share_token:
            st.code(share_link(opened.share_token), language=None)
            if st.button(t("stop_sharing"), icon=":material/link_off:"):
                store.unshare_conversation(opened.id, who)
                st.rerun()
        elif st.button(t("share"), icon=":material/link:"):
            store.share_conversation(opened.id, who)
            st.rerun()
        sure = st.checkbox(t("confirm_delete_conversation"), key=f"sure-{opened.id}")
        if st.button(t("delete_conversation"), icon=":material/delete:", disabled=not sure):
            store.delete_conversation(opened.id, who)
            start_new()
            st.rerun()


def _open(context: AppContext, conversation_id: str, collection_key: str) -> bool:
    found = _saved(context).conversation(conversation_id, context.identity.who)
    if found is None:
        return False
    _show(found.id, [opened_turn(turn) for turn in found.turns])
    select_collection_next_run(collection_key, found.collection)
    st.query_params[LINK_PARAM] = found.id
    return True


def _show(conversation_id: str | None, turns: list[Turn]) -> None:
    page_history()[:] = turns
    st.session_state[OPEN_KEY] = conversation_id
    st.session_state[CONVERSATION_KEY] = st.session_state.get(CONVERSATION_KEY, 0) + 1


def _saved(context: AppContext) -> SavedConversations:
    return context.assistant.store
