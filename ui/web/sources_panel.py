"""The dashboard's sources: each configured source's last sync, its counts and its errors.

Read from the store's sync records (:mod:`rag.store.sync_state`), which ``bllossom-rag sync``
writes on every run, from any machine sharing the store. Administrators only: a source's name,
address and failed paths say what is synced for groups the viewer may not be in.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rag.config import Settings
from rag.store import DocumentStore
from rag.store.sync_state import SyncRecord
from ui.web.i18n import t
from ui.web.safe_markdown import literal_markdown
from ui.web.widgets import local_time

COUNTS = ("ingested", "removed", "unchanged", "failed")


def show_sources(settings: Settings, store: DocumentStore) -> None:
    """The sources section: one row per source, then each failing source's errors."""
    records = {record.name: record for record in store.sync_records()}
    names = [source.name for source in settings.sources]
    names += sorted(set(records) - set(names))  # synced before, since removed from the settings
    if not names:
        return
    st.subheader(t("synced_sources"))
    st.dataframe(pd.DataFrame([_row(name, records.get(name)) for name in names]), hide_index=True)
    for record in records.values():
        errors = _errors(record)
        if errors:
            st.error(literal_markdown(t("source_errors", name=record.name)))
            st.code("\n".join(errors), language=None)


def _row(name: str, record: SyncRecord | None) -> dict[str, object]:
    row: dict[str, object] = {t("source"): name}
    if record is None:
        return {**row, t("sync_status"): t("never_synced")}
    summary = record.summary
    return {
        **row,
        t("collection"): record.collection,
        t("last_sync"): local_time(record.finished_at),
        t("sync_status"): t(f"sync_status_{record.status}"),
        **{t(f"sync_{count}"): int(summary.get(count, 0)) for count in COUNTS},
        t("chunks_embedded"): int(summary.get("chunks_embedded", 0)),
    }


def _errors(record: SyncRecord) -> list[str]:
    """The sync's error and its first failures, one line each."""
    summary = record.summary
    lines = [str(summary["error"])] if summary.get("error") else []
    lines += [str(error) for error in summary.get("errors", [])]
    more = int(summary.get("more_errors", 0))
    if more:
        lines.append(t("more_errors", count=more))
    return lines
