"""CSS the app adds to Streamlit's: Korean line breaks, and Streamlit's own words in Korean.

Browsers break Korean text between any two syllables, so a sidebar line can end in the middle of
a word ("설정되지 않 / 았습니다"); ``word-break: keep-all`` breaks it at spaces, as Korean is
written, and ``overflow-wrap`` still breaks a long path or URL that has no space at all. On a
phone the page title is set smaller, so a title keeps its words whole on a 390-pixel screen.

A few of Streamlit's widgets write English that no parameter changes: the file uploader's
button ("Upload") and its limits line ("50MB per file • PDF, ..."), and the keyboard's "Skip to
main content" link. In Korean they are replaced
by CSS: the original text is shrunk to nothing and ours is drawn in its place with ``::after``.
It is presentation only (screen readers still read Streamlit's text), and a Streamlit upgrade
that renames the test ids merely brings the English back.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from ui.web.i18n import LANGUAGE_KEY, t

# Streamlit sets ``word-break: break-word`` on its own paragraphs: the rule has to reach them.
# The main block is ``<main class="stMain">``; its test id is another on a page with a chat box.
_BASE = """
[data-testid="stSidebar"] *, main.stMain * {
  word-break: keep-all !important;
  overflow-wrap: break-word !important;
}
@media (max-width: 640px) {
  main.stMain h1 { font-size: 1.75rem !important; }
  [data-testid="stMainBlockContainer"] { padding-left: 1rem; padding-right: 1rem; }
}
"""


_CSS_PLAIN = frozenset(" ,.():-/")


def _css_string(text: str) -> str:
    """``text`` as a quoted CSS string, anything but letters, digits and a few marks escaped.

    Every quote, backslash, angle bracket and non-ASCII character becomes a hex escape, so no
    text can end the string, the rule or the ``<style>`` element it is in.
    """
    escaped = (
        c if (c.isascii() and c.isalnum()) or c in _CSS_PLAIN else f"\\{ord(c):x} " for c in text
    )
    return '"' + "".join(escaped) + '"'


def apply_base_style() -> None:
    """The app-wide rules (every page), and Streamlit's own skip link in Korean."""
    korean = ""
    if st.session_state.get(LANGUAGE_KEY) == "ko":
        korean = (
            '[data-testid="stSkipToContent"] { font-size: 0; }'
            '[data-testid="stSkipToContent"]::after {'
            f" content: {_css_string(t('skip_to_content'))}; font-size: 1rem; }}"
        )
    st.html(f"<style>{_BASE}{korean}</style>")


def translate_file_uploader(max_mb: int, types: Sequence[str]) -> None:
    """Put the page's file uploader's own words in the session's language (Korean only)."""
    if st.session_state.get(LANGUAGE_KEY) != "ko":
        return
    limits = t("uploader_limits", mb=max_mb, types=", ".join(kind.upper() for kind in types))
    st.html(
        "<style>"
        '[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0; }'
        '[data-testid="stFileUploaderDropzoneInstructions"] span::after {'
        f" content: {_css_string(limits)}; font-size: 0.875rem; white-space: normal; }}"
        '[data-testid="stFileUploaderDropzone"] button p { font-size: 0; }'
        '[data-testid="stFileUploaderDropzone"] button p::after {'
        f" content: {_css_string(t('uploader_button'))}; font-size: 0.875rem; }}"
        "</style>"
    )
