"""Driving the Streamlit app in-process (``streamlit.testing.v1.AppTest``): start, sign in, ask.

The app reads its configuration from the environment, as a user would set it; these helpers
set only what a test of pages needs and leave the rest to the test.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from devkit.models import EMBEDDING_MODEL, GENERATOR_MODEL, REPO
from ui.web.i18n import LABELS

APP = str(REPO / "ui" / "web" / "app.py")
# The domain every signed-in test person's verified email is in, and the one let in.
DOMAIN = "corp.example"


def en(key: str) -> str:
    """A label in English (the tests' language)."""
    return LABELS[key][1]


def configure(data: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app on the store in ``data``, run from ``folder``, in English, with the tiny models."""
    monkeypatch.chdir(folder)  # no stray bllossom-rag.toml
    for name, value in {
        "DATA_DIR": str(data),
        "EMBEDDING__MODEL": EMBEDDING_MODEL,
        "GENERATION__MODEL": GENERATOR_MODEL,
        "DEVICE": "cpu",
        "GENERATION__MAX_NEW_TOKENS": "8",
        "GENERATION__TEMPERATURE": "0",
        "UI__LANGUAGE": "en",
    }.items():
        monkeypatch.setenv(f"BLLOSSOM_RAG_{name}", value)


def start(**context: str) -> AppTest:
    """The app's first run (``context``: the browser's locale and headers)."""
    at = AppTest.from_file(APP, default_timeout=240)
    if context:
        at.context = context
    at.run()
    assert not at.exception, at.exception
    return at


def signed_in(
    email: str,
    monkeypatch: pytest.MonkeyPatch,
    mapping: dict[str, list[str]] | None = None,
    *,
    domains: Sequence[str] = (DOMAIN,),
    **claims: Any,
) -> AppTest:
    """The app after ``email`` signed in, with sign-in on.

    Args:
        email: Their email, verified by the provider unless ``claims`` says otherwise.
        monkeypatch: Sets the configuration.
        mapping: The configuration's person -> groups (``ui.user_groups``).
        domains: The email domains let in (``ui.allowed_domains``).
        claims: More ID-token claims (``groups``, ``email_verified``...).

    """
    monkeypatch.setenv("BLLOSSOM_RAG_UI__AUTH", "true")
    monkeypatch.setenv("BLLOSSOM_RAG_UI__ALLOWED_DOMAINS", json.dumps(list(domains)))
    if mapping is not None:
        monkeypatch.setenv("BLLOSSOM_RAG_UI__USER_GROUPS", json.dumps(mapping))
    at = AppTest.from_file(APP, default_timeout=240)
    at.user = {
        "is_logged_in": True,
        "sub": f"subject-of-{email}",
        "email": email,
        "email_verified": True,
        "name": email.partition("@")[0],
        **claims,
    }
    at.run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str, image: bytes | None = None) -> AppTest:
    """Type ``question`` (with an image attached) into the chat box and wait for the answer."""
    box = at.chat_input[0]
    if image is not None:
        box.upload("photo.png", image, "image/png")
    box.set_value(question).run()
    assert not at.exception, at.exception
    return at


def source_lines(at: AppTest) -> list[str]:
    """The "[n] file · score" lines under the last answer."""
    return [m.value for m in at.chat_message[-1].markdown if m.value.startswith("**\\[")]
