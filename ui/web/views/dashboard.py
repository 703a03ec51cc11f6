"""Dashboard: what is asked and not answered, what the store holds, ingests, generator health.

The knowledge report comes first (:mod:`ui.web.knowledge`, over the audit trail of every
surface). Counts come from the store's own tables, sizes from the data folder, latency from the
answers the Chat page timed (``ui-metrics.sqlite3``). Counts, collections and recent ingests
cover only what the user may read. Nothing here loads a model: the generator check probes the
worker's ``/health`` or, in-process, that the model folder exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from ui.web.charts import collection_bars
from ui.web.i18n import t
from ui.web.knowledge import show_knowledge_report
from ui.web.resources import app_context
from ui.web.safe_markdown import literal_markdown
from ui.web.services import dashboard as services
from ui.web.services.common import display_name, readable_collections
from ui.web.sources_panel import show_sources
from ui.web.widgets import human_bytes, local_time

BAR_COLOURS: list[Any] = ["#0068c9", "#ff8700", "#29b09d"]  # documents, chunks, images
TIME_FORMAT = "%m-%d %H:%M:%S"
RECENT_ROWS = 20


def timeline(timings: pd.DataFrame, measure: str) -> alt.Chart:
    """One measure per answer, in order, a point each (one answer is a point, not no line).

    The axis labels are the answers' times as text, written as the tables write times: a
    temporal axis would show them in the browser's time zone, not the server's, and disagree.
    """
    known = timings.dropna(subset=[measure])
    when = t("time")
    labels = known.assign(**{when: known[when].dt.strftime(TIME_FORMAT)})
    answer = alt.X(field=when, type="ordinal", sort=None, axis=alt.Axis(title=None))
    value = alt.Y(field=measure, type="quantitative")
    tooltip = [
        alt.Tooltip(field=when, type="ordinal"),
        alt.Tooltip(field=measure, type="quantitative", format=".2f"),
    ]
    return alt.Chart(labels).mark_line(point=True).encode(x=answer, y=value, tooltip=tooltip)


context = app_context()
settings = context.settings
assistant = context.assistant

st.title(t("dashboard_title"))
show_knowledge_report(context)
access = context.identity.access
infos = readable_collections(assistant, access)
documents = services.readable_documents(assistant, access)
# Sizes on disk count every group's uploads: administrators only (see docs/hostile.md).
usage = services.store_usage(settings.data_dir) if context.identity.admin else None

row = st.columns(5)
row[0].metric(t("collections"), len(infos), border=True)
row[1].metric(t("documents"), sum(i.documents for i in infos), border=True)
row[2].metric(t("chunks"), sum(i.chunks for i in infos), border=True)
row[3].metric(t("images"), sum(i.images for i in infos), border=True)
if usage is None:
    row[4].metric(t("documents_size"), human_bytes(sum(d.size for d in documents)), border=True)
else:
    row[4].metric(t("store_size"), human_bytes(sum(usage.values())), border=True)

st.subheader(t("per_collection"))
if infos:
    counts = pd.DataFrame(
        {
            t("collection"): [i.name for i in infos],
            t("documents"): [i.documents for i in infos],
            t("chunks"): [i.chunks for i in infos],
            t("images"): [i.images for i in infos],
        }
    )
    chart, table = st.columns([3, 2])
    measures = [t("documents"), t("chunks"), t("images")]
    # Colours by position, not by label: the labels change with the language.
    chart.altair_chart(collection_bars(counts, measures, BAR_COLOURS), width="stretch")
    table.dataframe(
        counts.assign(**{t("embedding_model"): [Path(i.embedding_model).name for i in infos]}),
        hide_index=True,
        width="stretch",
    )
else:
    st.info(t("no_collections"))

if usage is not None:
    storage, ingests = st.columns(2)
    with storage:
        st.subheader(t("storage"))
        st.dataframe(
            pd.DataFrame(
                {
                    t("component"): list(usage),
                    t("size"): [human_bytes(size) for size in usage.values()],
                }
            ),
            hide_index=True,
        )
else:
    ingests = st.container()
with ingests:
    st.subheader(t("last_ingests"))
    recent = documents[:RECENT_ROWS]
    if recent:
        st.caption(t("last_ingests_note"))
        st.dataframe(
            pd.DataFrame(
                {
                    t("ingested_at"): [local_time(d.ingested_at) for d in recent],
                    t("collection"): [d.collection for d in recent],
                    t("file"): [display_name(d.source_path) for d in recent],
                    t("chunks"): [d.chunks for d in recent],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.info(t("no_commits"))

if context.identity.admin:
    show_sources(settings, assistant.store)

st.subheader(t("generator"))
health = services.generator_health(settings)
if health.kind == "worker":
    if health.ok:
        healthy = t(
            "worker_ok", url=health.target, latency=health.latency_ms or 0.0, detail=health.detail
        )
        st.success(literal_markdown(healthy))
    else:
        st.error(literal_markdown(t("worker_down", url=health.target, detail=health.detail)))
elif health.ok:
    st.success(literal_markdown(t("in_process", model=health.target)))
else:
    st.error(literal_markdown(t("in_process_missing", error=health.detail)))

st.subheader(t("latency"))
samples = context.log.recent()
if not samples:
    st.info(t("no_answers_yet"))
else:
    timings = pd.DataFrame(
        {
            t("time"): [local_time(s.at) for s in samples],
            t("ttft"): [s.ttft_s for s in samples],
            t("tokens_per_s"): [s.tokens_per_s for s in samples],
        }
    )
    st.caption(t("answers", count=len(samples), failed=sum(s.error is not None for s in samples)))
    ttft_chart, speed_chart = st.columns(2)
    ttft_chart.altair_chart(timeline(timings, t("ttft")), width="stretch")
    speed_chart.altair_chart(timeline(timings, t("tokens_per_s")), width="stretch")
