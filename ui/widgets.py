"""Small pieces more than one page draws: the collection picker and value formatting."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ui.i18n import t

_NEW = "\x00new"  # the "new collection" option; no collection name can contain NUL


def pick_collection(
    names: list[str], default: str, *, key: str, allow_new: bool = False
) -> str | None:
    """A collection selector that remembers the choice across pages.

    Returns the chosen name (for ``allow_new``, possibly a new one typed by the user), or None
    when there is nothing to choose.
    """
    options = list(names) + ([_NEW] if allow_new else [])
    if not options:
        return None
    remembered = st.session_state.get("collection", default)
    if remembered not in options:
        remembered = default if default in options else options[0]
    choice = st.selectbox(
        t("collection"),
        options,
        index=options.index(remembered),
        format_func=lambda name: t("new_collection") if name == _NEW else name,
        key=key,
    )
    if choice == _NEW:
        typed = st.text_input(t("new_collection_name"), key=f"{key}_new").strip()
        return typed or None
    st.session_state["collection"] = choice
    return choice


def human_bytes(size: float) -> str:
    """``1536`` -> ``1.5 KB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def local_time(timestamp: float) -> dt.datetime:
    """A Unix time as a naive local datetime (what tables and charts show)."""
    return dt.datetime.fromtimestamp(timestamp)
