"""Deleting a document from the Library: nothing preselected, and a second click to confirm.

The first button only asks ("Delete 규정.md? This cannot be undone."); the document goes only
when the confirming button is pressed for that same document, and choosing another document or
pressing cancel asks again from the start.
"""

from __future__ import annotations

import streamlit as st

from rag.errors import BllossomRagError
from rag.store import DocumentRecord
from ui.web.i18n import t
from ui.web.resources import app_context
from ui.web.safe_markdown import literal_markdown
from ui.web.services import library as services
from ui.web.services.common import display_name

DOOMED_KEY = "library_doomed"
CONFIRM_KEY = "library_confirm_delete"
FLASH_KEY = "library_flash"


def confirm_delete(docs: list[DocumentRecord], collection: str) -> None:
    """The delete picker (empty at first), its button, and the confirmation it asks for."""
    by_id = {d.id: d for d in docs}
    st.markdown(f"**{t('delete_document')}**")
    doomed = st.selectbox(
        t("file"),
        list(by_id),
        index=None,
        placeholder=t("choose_document"),
        format_func=lambda doc_id: f"{display_name(by_id[doc_id].source_path)} ({doc_id})",
        key=DOOMED_KEY,
    )
    if st.button(t("delete_button"), icon=":material/delete:", disabled=doomed is None):
        st.session_state[CONFIRM_KEY] = doomed
    if doomed is None or st.session_state.get(CONFIRM_KEY) != doomed:
        return
    name = display_name(by_id[doomed].source_path)
    st.warning(literal_markdown(t("delete_confirm", name=name)))
    yes, no = st.columns(2)
    if no.button(t("cancel"), key="library_delete_cancel"):
        st.session_state.pop(CONFIRM_KEY, None)
        st.rerun()
    if yes.button(t("delete_confirm_button"), type="primary", key="library_delete_confirm"):
        st.session_state.pop(CONFIRM_KEY, None)
        context = app_context()
        try:
            removed, _ = services.uploads(context.assistant).remove(
                collection, doomed, context.identity.access
            )
        except BllossomRagError as error:
            st.error(literal_markdown(str(error)))
        else:
            st.session_state.pop(DOOMED_KEY, None)
            st.session_state[FLASH_KEY] = t("deleted", name=display_name(removed.source_path))
            st.rerun()
