"""Who is using the app, whether they are let in, and which groups they may read.

With ``ui.auth`` on, identity comes from Streamlit's OIDC sign-in (``st.login`` / ``st.user``;
the provider lives in ``.streamlit/secrets.toml`` under ``[auth]``). Who is let in, and with
which groups, is :mod:`rag.access.people`'s policy: allowed users and domains (subject or
verified email), groups from the provider's claim plus the configured mapping. Everyone let in
is recorded in the store for the admin page. With sign-in off, the app serves one local user
whose groups are ``ui.local_groups`` and says so in the sidebar.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NoReturn

import streamlit as st

from rag.access import Access
from rag.access.audit import Actor
from rag.access.people import Person, admitted, person_groups, verified_email
from rag.access.registry import Registry
from rag.config import Settings
from ui.web.i18n import t
from ui.web.safe_markdown import literal_markdown

# The person last recorded for this browser session (recorded again only when they change).
_SEEN_KEY = "auth_person_seen"
LOCAL_WHO = "web:local"


@dataclass(frozen=True)
class Identity:
    """The person at the browser.

    Attributes:
        name: What to call them (name, email or "local user").
        who: How the audit trail names them (verified email, else subject).
        groups: Groups whose restricted documents they may read.
        signed_in: True after an OIDC sign-in; False in single-user mode.
        admin: A member of ``access.admin_group``: they see the admin page.

    """

    name: str
    who: str
    groups: tuple[str, ...]
    signed_in: bool
    admin: bool

    @property
    def access(self) -> Access:
        """What every query and listing made for this person carries."""
        return Access.for_groups(self.groups)

    @property
    def actor(self) -> Actor:
        """How the audit trail records what they do in the web app."""
        return Actor(self.who, "web")


def person_of(claims: Mapping[str, Any], settings: Settings) -> Person:
    """The person the claims name, with their groups (claim plus mapping)."""
    email = verified_email(claims)
    subject = str(claims.get("sub") or email or "")
    groups = person_groups(claims, settings.ui.user_groups, settings.ui.groups_claim)
    return Person(subject, email, str(claims.get("name") or email or subject), groups)


def local_identity(settings: Settings) -> Identity:
    """The one local user of single-user mode."""
    groups = tuple(sorted(set(settings.ui.local_groups)))
    admin = settings.access.admin_group in groups
    return Identity(t("local_user"), LOCAL_WHO, groups, False, admin)


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets.toml at all
        return False


def _sign_in_page(settings: Settings) -> NoReturn:
    st.title(t("app_title"))
    if not _auth_configured():
        st.error(t("auth_not_configured"))
        st.stop()
    st.info(t("sign_in_needed"))
    provider = settings.ui.auth_provider
    st.button(t("sign_in"), type="primary", on_click=st.login, args=(provider,) if provider else ())
    st.stop()


def _refusal_page(claims: Mapping[str, Any], settings: Settings) -> NoReturn:
    ui = settings.ui
    st.title(t("app_title"))
    if not (ui.allowed_users or ui.allowed_domains or ui.allow_anyone):
        st.error(t("nobody_admitted"))
    else:
        label = verified_email(claims) or str(claims.get("email") or claims.get("sub") or "?")
        st.error(t("not_admitted", who=literal_markdown(label)))
        if claims.get("email") and verified_email(claims) is None:
            st.caption(t("email_not_verified"))
    st.button(t("sign_out"), on_click=st.logout)
    st.stop()


def current_identity(settings: Settings, registry: Registry) -> Identity:
    """The current user; shows the sign-in (or refusal) page and stops until they are let in.

    Args:
        settings: The configuration (``[ui]`` sign-in, ``[access] admin_group``).
        registry: Where the people let in are recorded.

    """
    if not settings.ui.auth:
        return local_identity(settings)
    if not st.user.get("is_logged_in"):
        _sign_in_page(settings)
    claims = st.user.to_dict()
    ui = settings.ui
    if not admitted(claims, ui.allowed_users, ui.allowed_domains, anyone=ui.allow_anyone):
        _refusal_page(claims, settings)
    person = person_of(claims, settings)
    if st.session_state.get(_SEEN_KEY) != person:  # once a visit, and when anything changed
        now = time.time()
        registry.see_person(replace(person, first_seen=now, last_seen=now))
        st.session_state[_SEEN_KEY] = person
    admin = settings.access.admin_group in person.groups
    return Identity(person.name, person.label, person.groups, True, admin)
