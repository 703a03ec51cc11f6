"""The Dashboard's knowledge report: what the knowledge base is asked and cannot answer.

The same report as ``bllossom-rag report`` (:mod:`rag.evaluation.report`), over the audit trail
of every surface and the Chat page's ratings, for a period the viewer picks, as the viewer may
read it: a question about a document they may not read is not counted, not listed, not grouped.
The chart is a picture, not a control: it takes no mouse wheel and no drag.
"""

from __future__ import annotations

import time
from pathlib import PurePath

import altair as alt
import pandas as pd
import streamlit as st

from rag.evaluation.feedback import FeedbackLog
from rag.evaluation.report import KnowledgeReport, knowledge_report
from ui.web.i18n import t
from ui.web.resources import AppContext
from ui.web.widgets import local_time

DEFAULT_DAYS = 7
MAX_DAYS = 90
DAY_S = 24 * 3600
STATUS_COLOURS = ["#29b09d", "#ff8700"]  # answered, not in the documents


def show_knowledge_report(context: AppContext) -> None:
    """The report's section: counts, questions per day, gaps, documents, thumbs, latency."""
    st.subheader(t("report_title"))
    days = st.slider(t("report_period"), 1, MAX_DAYS, DEFAULT_DAYS, key="report_days")
    ratings = FeedbackLog.in_data_dir(context.settings.data_dir).entries()
    found = knowledge_report(
        context.assistant.store, ratings, context.identity.access, time.time() - days * DAY_S
    )
    row = st.columns(4)
    row[0].metric(t("report_asked"), found.asked, border=True)
    row[1].metric(t("report_answered"), found.answered, border=True)
    row[2].metric(t("report_not_answered"), found.not_answered, border=True)
    latency = (
        "-"
        if found.latency_p50 is None
        else t("report_latency_value", p50=found.latency_p50, p95=found.latency_p95 or 0.0)
    )
    row[3].metric(t("report_latency"), latency, border=True)
    if not found.asked:
        st.info(t("report_nothing_asked"))
    else:
        st.altair_chart(per_day_chart(found), width="stretch")
    st.markdown(f"**{t('report_gaps')}**")
    st.caption(t("report_gaps_note"))
    if found.unanswered:
        st.dataframe(
            pd.DataFrame(
                {
                    t("report_questions"): [
                        " · ".join(g.questions) or t("report_hashes_only") for g in found.unanswered
                    ],
                    t("report_times_asked"): [g.asked for g in found.unanswered],
                    t("collection"): [", ".join(g.collections) for g in found.unanswered],
                    t("report_last_asked"): [local_time(g.last_asked) for g in found.unanswered],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(t("report_no_gaps"))
    most, never = st.columns(2)
    with most:
        st.markdown(f"**{t('report_most_cited')}**")
        _documents([(u.collection, u.source, u.cited) for u in found.most_cited], cited=True)
    with never:
        st.markdown(f"**{t('report_never_cited', count=found.never_cited_count)}**")
        _documents([(u.collection, u.source, 0) for u in found.never_cited], cited=False)
    st.markdown(f"**{t('report_thumbs')}**")
    if found.feedback:
        st.dataframe(
            pd.DataFrame(
                {
                    t("collection"): list(found.feedback),
                    "👍": [up for up, _ in found.feedback.values()],
                    "👎": [down for _, down in found.feedback.values()],
                }
            ),
            hide_index=True,
        )
    else:
        st.caption(t("report_no_thumbs"))


def per_day_chart(found: KnowledgeReport) -> alt.Chart:
    """Questions per day, answered and not stacked; every word in the page's language."""
    day, status, count = t("report_day"), t("report_status"), t("report_asked")
    answered, missing = t("report_answered"), t("report_not_answered")
    rows = [(d.day, answered, d.answered) for d in found.days]
    rows += [(d.day, missing, d.asked - d.answered) for d in found.days]
    data = pd.DataFrame(rows, columns=[day, status, count])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(field=day, type="ordinal", axis=alt.Axis(title=None, labelAngle=0)),
            y=alt.Y(field=count, type="quantitative", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                field=status,
                type="nominal",
                scale=alt.Scale(domain=[answered, missing], range=STATUS_COLOURS),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip(field=day, type="ordinal"),
                alt.Tooltip(field=status, type="nominal"),
                alt.Tooltip(field=count, type="quantitative"),
            ],
        )
    )


def _documents(rows: list[tuple[str, str, int]], *, cited: bool) -> None:
    if not rows:
        st.caption(t("report_none"))
        return
    table: dict[str, list[str | int]] = {
        t("collection"): [collection for collection, _, _ in rows],
        t("file"): [PurePath(source).name for _, source, _ in rows],
    }
    if cited:
        table[t("report_times_cited")] = [times for _, _, times in rows]
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
