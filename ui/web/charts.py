"""The dashboard's bar chart of counts per collection (Altair, not ``st.bar_chart``).

``st.bar_chart`` makes its chart zoomable: the mouse wheel over it zooms instead of scrolling
the page (and drags the axis below zero), and its tooltips name the fields ``value`` and
``color`` whatever the language. This one has no zoom or pan, and every word in it, tooltips
included, comes from the labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd

from ui.web.i18n import t


def collection_bars(counts: pd.DataFrame, measures: Sequence[str], colours: list[Any]) -> alt.Chart:
    """Grouped bars: one group per collection, one bar per measure, coloured by position."""
    collection, measure, count = t("collection"), t("measure"), t("count")
    long = counts.melt(
        id_vars=[collection], value_vars=list(measures), var_name=measure, value_name=count
    )
    colour = alt.Color(
        field=measure,
        type="nominal",
        scale=alt.Scale(domain=list(measures), range=colours),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X(field=collection, type="nominal", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset(field=measure, type="nominal", sort=list(measures)),
            y=alt.Y(
                field=count,
                type="quantitative",
                scale=alt.Scale(domainMin=0),
                axis=alt.Axis(format="d", tickMinStep=1),  # counts: whole numbers
            ),
            color=colour,
            tooltip=[
                alt.Tooltip(field=collection, type="nominal"),
                alt.Tooltip(field=measure, type="nominal"),
                alt.Tooltip(field=count, type="quantitative", format=","),
            ],
        )
    )
