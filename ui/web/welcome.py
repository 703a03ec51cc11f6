"""The empty chat's guidance: how big the collection is, and example questions to click.

A click asks the example as if it had been typed (:func:`clicked_example` hands it to the chat
page on the next run).
"""

from __future__ import annotations

import streamlit as st

from rag.access import Access
from rag.store import CollectionInfo, DocumentStore
from ui.web.i18n import t
from ui.web.safe_markdown import literal_markdown
from ui.web.services.examples import example_topics

EXAMPLE_KEY = "chat_example"


def example_question(topic_text: str, heading: bool) -> str:
    """The question asked about a heading or a document, in the session's language."""
    return t("example_heading" if heading else "example_document", topic=topic_text)


def show_welcome(store: DocumentStore, info: CollectionInfo, access: Access) -> None:
    """The collection's size and up to four example questions, as buttons."""
    st.info(
        literal_markdown(
            t("collection_size", name=info.name, count=info.documents, chunks=info.chunks)
        )
    )
    topics = example_topics(store, info.name, access)
    if not topics:
        return
    st.caption(t("examples_intro"))
    for number, topic in enumerate(topics):
        question = example_question(topic.text, topic.heading)
        st.button(
            literal_markdown(question),
            key=f"{EXAMPLE_KEY}-{number}",
            icon=":material/help:",
            on_click=st.session_state.__setitem__,
            args=(EXAMPLE_KEY, question),
        )


def clicked_example() -> str | None:
    """The example question clicked on the last run, once."""
    return st.session_state.pop(EXAMPLE_KEY, None)
