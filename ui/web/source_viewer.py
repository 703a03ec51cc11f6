"""The chat's sources, each one click away from its passage in its document, and the answer's check.

Under an answer, each numbered source shows its file, page and relevance (a word, not three
decimals) and an *open* button. Opening it shows the passage where it stands:

- a PDF page: the page itself, rendered, with the passage highlighted (from the word boxes kept
  at ingest: the text layer's characters, or Tesseract's words for a scanned page);
- a slide: everything on it (title, text, notes, pictures);
- a spreadsheet's rows: the sheet and the rows under their header row, as a table;
- an image: the image and its caption;
- anything else (text, Markdown, HTML, Word, HWP/HWPX): the passage under its heading path,
  between the passages before and after it.

The original file can be downloaded from there: the viewer only opens what the person may read
(:mod:`ui.web.services.sources`), so whoever sees it may have it. Paths are the ones relative to
where the document was ingested from. Every text from a document is shown through
:func:`~ui.web.safe_markdown.literal_markdown`.

The answer's sentences that the support check found unsupported by the passage they cite are
marked with :data:`UNSUPPORTED_MARK`, and a note under the answer lists them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import pandas as pd
import streamlit as st

from rag.generation.result import Source, relevance_word
from rag.sources import Passage
from ui.web.i18n import t
from ui.web.resources import app_context
from ui.web.safe_markdown import literal_markdown
from ui.web.services import sources as services
from ui.web.services.chat import SourceView, plain_snippet

SNIPPET_CHARS = 300
UNSUPPORTED_MARK = "⚠️"
_BADGE_COLOURS = {"high": "green", "medium": "orange", "low": "gray"}


def relevance_badge(score: float) -> str:
    """A source's relevance as a coloured word (Streamlit's badge Markdown)."""
    word = relevance_word(score)
    return f":{_BADGE_COLOURS[word]}-badge[{t('relevance_' + word)}]"


def show_source(view: SourceView, key: str) -> None:
    """One numbered source: where it is from, how relevant, a snippet, and *open*."""
    source = view.citation
    where = [literal_markdown(PurePath(source.source).name)]
    if source.page is not None:
        where.append(t("page_number", page=source.page))
    where.append(relevance_badge(source.score))
    st.markdown(f"**\\[{source.number}\\]** " + " · ".join(where))
    if view.thumbnail and Path(view.thumbnail).is_file():
        st.image(view.thumbnail, width=120)
    st.caption(literal_markdown(plain_snippet(source.text, SNIPPET_CHARS)))
    if source.also_in:
        names = ", ".join(PurePath(str(copy["path"])).name for copy in source.also_in)
        st.caption(t("also_in", names=literal_markdown(names)))
    opens = bool(source.id)  # a reopened saved answer keeps no chunk id: it cannot open
    if opens and st.button(
        t("open_source"), key=key, icon=":material/open_in_new:", type="tertiary"
    ):
        st.dialog(t("source_title", number=source.number), width="large")(_viewer)(source)


def _viewer(source: Source) -> None:
    """The dialog's body: the passage in its document, and the original file."""
    context = app_context()
    identity = context.identity
    passage = services.open_source(
        context.assistant, source.collection, source.id, identity.access, identity.actor
    )
    if passage is None:
        st.warning(t("source_gone"))
        return
    chunk, document = passage.chunk, passage.document
    where = [literal_markdown(document.shown_path)]
    if chunk.page is not None:
        label = "slide_number" if passage.format == "pptx" else "page_number"
        where.append(t(label, page=chunk.page))
    st.markdown("**" + " · ".join(where) + "**")
    if chunk.heading:
        st.caption(literal_markdown(chunk.heading))
    data = services.original(context.assistant, document)
    if data is None:
        st.caption(t("original_unavailable"))
    else:
        st.download_button(
            t("download_original"),
            data,
            file_name=PurePath(document.shown_path).name,
            icon=":material/download:",
            key=f"download-{chunk.id}",
        )
    if passage.page_image:
        _pdf_page(passage)
    elif chunk.kind == "image":
        _image(passage)
    elif passage.format == "pptx" and passage.page_chunks:
        _slide(passage)
    else:
        _in_context(passage)


def _pdf_page(passage: Passage) -> None:
    png = services.page_image(app_context().assistant, passage)
    if png is None:  # the file is gone or changed (said above): the passage as stored
        _in_context(passage)
        return
    note = "page_highlighted" if passage.boxes else "page_not_highlighted"
    st.image(png, caption=t(note), width="stretch")


def _image(passage: Passage) -> None:
    data = services.stored_image(app_context().assistant, passage.chunk)
    if data is not None:
        st.image(data, width="stretch")
    st.caption(literal_markdown(passage.chunk.text))


def _slide(passage: Passage) -> None:
    """Everything on the slide, the cited part in a frame."""
    assistant = app_context().assistant
    for chunk in passage.page_chunks:
        if chunk.kind == "image":
            data = services.stored_image(assistant, chunk)
            if data is not None:
                st.image(data, caption=literal_markdown(chunk.text), width=320)
        elif chunk.id == passage.chunk.id:
            st.container(border=True).markdown(_lines(chunk.text))
        else:
            st.markdown(_lines(chunk.text))


def _in_context(passage: Passage) -> None:
    """The passage framed, between the passages before and after it."""
    if passage.before is not None:
        st.caption(literal_markdown(plain_snippet(passage.before.text, 600)))
    frame = st.container(border=True)
    table = table_rows(passage.chunk.text)
    if table is None:
        frame.markdown(_lines(passage.chunk.text))
    else:
        label, header, rows = table
        if label:
            frame.caption(literal_markdown(label))
        frame.dataframe(pd.DataFrame(rows, columns=header), hide_index=True)
    if passage.after is not None:
        st.caption(literal_markdown(plain_snippet(passage.after.text, 600)))


def _lines(text: str) -> str:
    """Document text shown literally, each of its lines on a line of its own."""
    return literal_markdown(text).replace("\n", "  \n")


def table_rows(text: str) -> tuple[str, list[str], list[list[str]]] | None:
    """A table passage (``[sheet!2:9] header | cells`` then rows of cells) as its parts.

    None when the text is not rows of ``|``-separated cells of one width.
    """
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) < 2 or not all(" | " in line for line in lines):
        return None
    label = ""
    first = lines[0]
    if first.startswith("[") and "] " in first:
        label, first = first[1 : first.index("] ")], first[first.index("] ") + 2 :]
    header = [cell.strip() for cell in first.split(" | ")]
    rows = [[cell.strip() for cell in line.split(" | ")] for line in lines[1:]]
    if any(len(row) != len(header) for row in rows):
        return None
    unique = [f"{name} ({i})" if header.count(name) > 1 else name for i, name in enumerate(header)]
    return label, unique, rows


def marked_answer(answer: str, support: Sequence[Mapping[str, Any]]) -> str:
    """The answer with :data:`UNSUPPORTED_MARK` after each sentence its citations do not support."""
    ends = sorted(
        (int(checked["end"]) for checked in support if not checked["supported"]), reverse=True
    )
    for end in ends:
        answer = f"{answer[:end]} {UNSUPPORTED_MARK}{answer[end:]}"
    return answer


def show_support_note(support: Sequence[Mapping[str, Any]]) -> None:
    """Under an answer: which cited sentences their passages do not support, if any."""
    unsupported = [checked for checked in support if not checked["supported"]]
    if not unsupported:
        return
    lines = [t("unsupported_note", count=len(unsupported), mark=UNSUPPORTED_MARK)]
    for checked in unsupported:
        cited = "".join(f"\\[{number}\\]" for number in checked["citations"])
        lines.append(f"- {literal_markdown(checked['text'])} {cited}")
    st.warning("\n".join(lines))


def show_sources_list(views: Sequence[SourceView], key: str) -> None:
    """Every source of one answer, each with its own *open* button (``key`` names the answer)."""
    for view in views:
        show_source(view, f"{key}-{view.citation.number}")
