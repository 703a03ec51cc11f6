"""Small pieces more than one page draws: the collection picker and value formatting."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ui.web.i18n import t

COLLECTION_PARAM = "collection"
_NEW = "\x00new"  # the "new collection" option; no collection name can contain NUL


def pick_collection(
    names: list[str], default: str, *, key: str, allow_new: bool = False
) -> str | None:
    """A collection selector that remembers the choice across pages and reloads.

    The choice is kept in the session and in the address (``?collection=hr``), so a reload or
    a bookmarked link opens the same collection instead of the default one.
    Returns the chosen name (for ``allow_new``, possibly a new one typed by the user), or None
    when there is nothing to choose. :func:`select_collection_next_run` changes the choice.
    """
    options = list(names) + ([_NEW] if allow_new else [])
    if not options:
        return None
    selected = st.session_state.pop(f"{key}.next", None)
    if selected in options:
        st.session_state[key] = selected
    elif st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    if key in st.session_state:
        index = 0  # the widget keeps its own state
    else:
        remembered = st.query_params.get(COLLECTION_PARAM) or st.session_state.get(
            "collection", default
        )
        if remembered not in options:
            remembered = default if default in options else options[0]
        index = options.index(remembered)
    choice = st.selectbox(
        t("collection"),
        options,
        index=index,
        format_func=lambda name: t("new_collection") if name == _NEW else name,
        key=key,
    )
    if choice == _NEW:
        typed = st.text_input(t("new_collection_name"), key=f"{key}_new").strip()
        return typed or None
    remember_collection(choice)
    return choice


def select_collection_next_run(key: str, name: str) -> None:
    """Make the picker ``key`` show ``name`` from the next run on (e.g. a just-created one)."""
    st.session_state[f"{key}.next"] = name
    remember_collection(name)


def remember_collection(name: str) -> None:
    """Keep ``name`` as the session's collection, in the session and in the address."""
    st.session_state["collection"] = name
    if st.query_params.get(COLLECTION_PARAM) != name:
        st.query_params[COLLECTION_PARAM] = name


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


def path_tail(path: str, limit: int = 56) -> str:
    """A long path's end, where the folder and file names are (``…/uploads/hr/plan.txt``)."""
    return path if len(path) <= limit else "…" + path[-(limit - 1) :]
