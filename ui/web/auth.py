"""Who is using the app, and which groups they may read.

With ``ui.auth`` on, identity comes from Streamlit's OIDC sign-in (``st.login`` / ``st.user``;
the provider lives in ``.streamlit/secrets.toml`` under ``[auth]``) and group membership from
configuration (``ui.user_groups``: email or subject -> groups), never from the identity
provider's claims, so what a person may read is decided in one reviewed file. With it off, the
app serves one local user whose groups are ``ui.local_groups`` and says so in the sidebar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import streamlit as st

from rag.access import Access
from rag.config import Settings
from ui.web.i18n import t


@dataclass(frozen=True)
class Identity:
    """The person at the browser.

    Attributes:
        name: What to call them (name, email or "local user").
        groups: Groups whose restricted documents they may read.
        signed_in: True after an OIDC sign-in; False in single-user mode.

    """

    name: str
    groups: tuple[str, ...]
    signed_in: bool

    @property
    def access(self) -> Access:
        """What every query and listing made for this person carries."""
        return Access.for_groups(self.groups)


def groups_for(keys: Sequence[str | None], mapping: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Groups of the first of ``keys`` (email, subject) found in ``mapping``, case-insensitively."""
    folded = {key.casefold(): groups for key, groups in mapping.items()}
    for key in keys:
        if key and key.casefold() in folded:
            return tuple(sorted({g.strip() for g in folded[key.casefold()] if g.strip()}))
    return ()


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets.toml at all
        return False


def current_identity(settings: Settings) -> Identity:
    """The current user; with auth on, shows the sign-in screen and stops until signed in."""
    if not settings.ui.auth:
        return Identity(t("local_user"), tuple(sorted(set(settings.ui.local_groups))), False)
    if not st.user.get("is_logged_in"):
        st.title(t("app_title"))
        if not _auth_configured():
            st.error(t("auth_not_configured"))
            st.stop()
        st.info(t("sign_in_needed"))
        provider = settings.ui.auth_provider
        st.button(
            t("sign_in"),
            type="primary",
            on_click=st.login,
            args=(provider,) if provider else (),
        )
        st.stop()
    email = st.user.get("email")
    subject = st.user.get("sub")
    name = st.user.get("name") or email or subject or "?"
    keys = [str(email) if email else None, str(subject) if subject else None]
    return Identity(str(name), groups_for(keys, settings.ui.user_groups), True)
