"""Admin: people, API keys, document access, the access rules and the audit trail.

Only members of ``access.admin_group`` see this page in the navigation, and the page itself
refuses anyone else (a bookmarked address does not open it). Every change made here (a key
made or revoked, a document's groups set) goes on the audit trail as the administrator's, on
the ``admin`` surface.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rag.errors import BllossomRagError
from ui.web.i18n import t
from ui.web.resources import app_context
from ui.web.safe_markdown import literal_markdown
from ui.web.services import admin as services
from ui.web.services.common import display_name
from ui.web.widgets import pick_collection

AUDIT_DAYS = (1, 7, 30, 90, 365)


def table(rows: list[dict[str, object]], columns: dict[str, str], empty: str) -> None:
    """Rows as a table with the page's column names, or ``empty`` when there are none."""
    if not rows:
        st.caption(empty)
        return
    frame = pd.DataFrame(rows, columns=list(columns)).rename(columns=columns)
    st.dataframe(frame, hide_index=True, width="stretch")


def people_tab() -> None:
    """Everyone let in so far, with their groups."""
    columns = {
        "who": t("admin_who"),
        "name": t("admin_name"),
        "groups": t("admin_groups"),
        "first_seen": t("admin_first_seen"),
        "last_seen": t("admin_last_seen"),
    }
    table(services.people_rows(assistant), columns, t("admin_no_people"))


def keys_tab() -> None:
    """Make a key (shown once), revoke one, and the list of keys."""
    with st.form("admin_new_key", clear_on_submit=True):
        st.subheader(t("admin_new_key"))
        name = st.text_input(t("admin_key_name"), key="admin_key_name")
        groups = st.multiselect(
            t("admin_groups"), groups_known, accept_new_options=True, key="admin_key_groups"
        )
        write = st.checkbox(t("admin_key_write"), key="admin_key_write")
        if st.form_submit_button(t("admin_create_key"), type="primary"):
            try:
                issued = services.create_key(assistant, identity, name, groups, write=write)
            except BllossomRagError as error:
                st.error(literal_markdown(str(error)))
            else:
                st.success(t("admin_key_made", name=literal_markdown(issued.record.name)))
                st.code(issued.key, language=None)
    working = services.working_keys(assistant)
    if working:
        chosen = st.selectbox(t("admin_revoke_which"), working, key="admin_revoke_key")
        if st.button(t("admin_revoke"), key="admin_revoke_button") and chosen:
            services.revoke_key(assistant, identity, chosen)
            st.success(t("admin_key_revoked", name=literal_markdown(chosen)))
    columns = {
        "name": t("admin_key_name"),
        "groups": t("admin_groups"),
        "scopes": t("admin_scopes"),
        "created": t("admin_created"),
        "last_used": t("admin_last_used"),
        "revoked": t("admin_revoked"),
    }
    table(services.key_rows(assistant), columns, t("admin_no_keys"))


def documents_tab() -> None:
    """Set the groups of chosen documents by hand."""
    names = [info.name for info in assistant.store.collections() if info.documents]
    collection = pick_collection(names, settings.collection, key="admin_collection")
    if collection is None:
        st.caption(t("no_collections"))
        return
    documents = {d.id: d for d in assistant.store.documents(collection)}
    chosen = st.multiselect(
        t("admin_documents"),
        list(documents),
        format_func=lambda doc_id: (
            f"{display_name(documents[doc_id].source_path)} "
            f"({', '.join(documents[doc_id].groups) or t('everyone')})"
        ),
        key="admin_documents",
    )
    groups = st.multiselect(
        t("admin_groups"), groups_known, accept_new_options=True, key="admin_document_groups"
    )
    st.caption(t("admin_groups_hint"))
    if st.button(t("admin_set_groups"), disabled=not chosen, key="admin_set_groups"):
        changes = services.set_groups(assistant, identity, collection, chosen, groups)
        st.success(t("admin_groups_set", count=len(changes)))


def rules_tab() -> None:
    """The access rules in effect and who is let in."""
    ui = settings.ui
    st.markdown(t("admin_rules_intro"))
    table(
        services.rule_rows(settings),
        {"order": "#", "path": t("admin_rule_path"), "groups": t("admin_groups")},
        t("admin_no_rules"),
    )
    facts = {
        t("admin_admin_group"): settings.access.admin_group,
        t("admin_groups_claim"): ui.groups_claim or "-",
        t("admin_allowed_users"): ", ".join(ui.allowed_users) or "-",
        t("admin_allowed_domains"): ", ".join(ui.allowed_domains) or "-",
        t("admin_allow_anyone"): t("yes") if ui.allow_anyone else t("no"),
    }
    for label, value in facts.items():
        st.markdown(f"**{label}**: {literal_markdown(value)}")


def audit_tab() -> None:
    """The trail of a recent period, filtered by who, and its export."""
    left, right = st.columns(2)
    days = left.selectbox(
        t("admin_audit_days"),
        AUDIT_DAYS,
        index=1,
        format_func=lambda n: t("days", count=n),
        key="admin_audit_days",
    )
    who = right.text_input(t("admin_who"), key="admin_audit_who")
    entries = services.audit_entries(assistant, days, who)
    columns = {
        "time": t("admin_time"),
        "who": t("admin_who"),
        "surface": t("admin_surface"),
        "action": t("admin_action"),
        "collection": t("collection"),
        "documents": t("admin_documents"),
        "question": t("admin_question"),
        "detail": t("admin_detail"),
    }
    table(services.audit_rows(entries), columns, t("admin_no_audit"))
    st.download_button(
        t("admin_audit_download"),
        services.audit_jsonl(entries),
        file_name="audit.jsonl",
        mime="application/jsonl",
        disabled=not entries,
    )


context = app_context()
settings = context.settings
assistant = context.assistant
identity = context.identity
if not identity.admin:
    st.error(t("admin_only", group=literal_markdown(settings.access.admin_group)))
    st.stop()

st.title(t("admin_title"))
groups_known = services.known_groups(assistant, settings)
tabs = st.tabs(
    [
        t("admin_people"),
        t("admin_keys"),
        t("admin_document_access"),
        t("admin_rules"),
        t("admin_audit"),
    ]
)
for tab, draw in zip(
    tabs, (people_tab, keys_tab, documents_tab, rules_tab, audit_tab), strict=True
):
    with tab:
        draw()
