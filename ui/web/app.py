"""The Streamlit entry point: ``bllossom-rag ui`` (or ``streamlit run ui/web/app.py``).

It runs on every interaction, before the page: settings, language, sign-in, the navigation
between Chat, Library and Dashboard, and the sidebar's language toggle and identity line. The
pages do their own drawing and reach the library only through :mod:`ui.web.services`.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.web.i18n import LANGUAGE_KEY, LANGUAGES, t
from ui.web.resources import app_context
from ui.web.safe_markdown import literal_markdown
from ui.web.style import apply_base_style

# Not "pages/": Streamlit would list that folder as pages of its own before navigation runs.
PAGES = Path(__file__).parent / "views"

st.set_page_config(page_title="Bllossom RAG", page_icon="🌸", layout="wide")
context = app_context()
apply_base_style()

chat = st.Page(
    PAGES / "chat.py",
    title=t("page_chat"),
    icon=":material/chat:",
    url_path="ask",  # never shown: the default page lives at the root
    default=True,
)


def open_chat() -> None:
    """``/chat`` typed or bookmarked: the chat page, which lives at the root, same parameters."""
    st.switch_page(chat, query_params=st.query_params.to_dict())


pages = [
    chat,
    st.Page(open_chat, title=t("page_chat"), url_path="chat", visibility="hidden"),
    st.Page(
        PAGES / "library.py",
        title=t("page_library"),
        icon=":material/library_books:",
        url_path="library",
    ),
    st.Page(
        PAGES / "dashboard.py",
        title=t("page_dashboard"),
        icon=":material/monitoring:",
        url_path="dashboard",
    ),
    st.Page(  # opened by a share link only
        PAGES / "shared.py",
        title=t("shared_title"),
        icon=":material/share:",
        url_path="shared",
        visibility="hidden",
    ),
]
if context.identity.admin:  # the page refuses anyone else too
    pages.append(
        st.Page(
            PAGES / "admin.py",
            title=t("page_admin"),
            icon=":material/admin_panel_settings:",
            url_path="admin",
        )
    )
navigation = st.navigation(pages)

with st.sidebar:
    st.segmented_control(
        t("language"),
        list(LANGUAGES),
        format_func=LANGUAGES.__getitem__,
        key=LANGUAGE_KEY,
        required=True,
    )
    identity = context.identity
    if identity.signed_in:
        st.caption(t("signed_in_as", name=literal_markdown(identity.name)))
    else:
        st.caption(t("single_user_mode"))
    groups = ", ".join(identity.groups)
    # group names come from the identity provider's claim too: shown as text
    st.caption(t("your_groups", groups=literal_markdown(groups)) if groups else t("no_groups"))
    if identity.signed_in:
        st.button(t("sign_out"), on_click=st.logout)

navigation.run()
