"""A shared conversation, read-only: what its share link (``/shared?s=<token>``) opens.

It opens only for a person who may read every document the conversation cites, checked now
against the documents' groups (:func:`rag.conversations.sharing.may_open`); anyone else, and a
link that was withdrawn or never existed, gets the same refusal, which tells nothing about the
conversation. Nothing here asks or rates: the person's own chat is on the Chat page.
"""

from __future__ import annotations

import streamlit as st

from rag.conversations.sharing import may_open
from ui.web.conversations import SHARE_PARAM
from ui.web.i18n import t
from ui.web.resources import app_context
from ui.web.safe_markdown import literal_markdown
from ui.web.turns import opened_turn, show_finished, show_question
from ui.web.widgets import local_time

context = app_context()
store = context.assistant.store
token = st.query_params.get(SHARE_PARAM, "")
shared = store.shared_conversation(token) if token else None
if shared is None or not may_open(shared, context.identity.access, store):
    st.title(t("shared_title"))
    st.error(t("share_refused"))
    st.page_link("views/chat.py", label=t("page_chat"), icon=":material/chat:")
    st.stop()

st.title(literal_markdown(shared.title))
started = local_time(shared.created_at).strftime("%Y-%m-%d %H:%M")
st.caption(t("shared_caption", collection=literal_markdown(shared.collection), started=started))
for index, saved in enumerate(shared.turns):
    turn = opened_turn(saved)
    with st.chat_message("user"):
        show_question(turn)
    with st.chat_message("assistant"):
        show_finished(turn, f"shared-{index}")
