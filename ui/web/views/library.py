"""Library: upload files into a collection, see every file's result, list and delete documents.

Uploads go through :mod:`ingest.uploads` (the policy every upload route shares), the same
pipeline as ``bllossom-rag ingest`` (size cap, loaders, content checks, one result per file),
and cannot replace a document the uploader may not read or give it other groups. The list
shows only the documents the user's groups may read, so a restricted document is invisible
here exactly as it is in Chat; the group picker offers only the user's own groups.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ingest.report import FileDetail, IngestProgress
from ingest.uploads import STATUSES, UploadResult
from rag.errors import BllossomRagError
from ui.web.deletion import FLASH_KEY, confirm_delete
from ui.web.i18n import t
from ui.web.reasons import localized, localized_error
from ui.web.resources import app_context, ready_assistant
from ui.web.safe_markdown import literal_markdown
from ui.web.services import library as services
from ui.web.services.common import display_name, readable_collections
from ui.web.style import translate_file_uploader
from ui.web.widgets import (
    human_bytes,
    local_time,
    path_tail,
    pick_collection,
    select_collection_next_run,
)

RESULTS_KEY = "library_results"
UPLOADER_KEY = "library_uploader"
COLLECTION_KEY = "library_collection"


def describe(detail: FileDetail | None) -> str:
    """``청크 3개 (이미지 1개)`` for a stored file, with what was left out of it."""
    if detail is None:
        return ""
    text = t("file_chunks", count=detail.chunks)
    if detail.images:
        text += f" ({t('file_images', count=detail.images)})"
    return "; ".join([text, *map(localized, detail.notes)])


def progress_line(update: IngestProgress) -> tuple[float, str]:
    """The bar's fill and what it says the upload is doing right now (saving ... indexing)."""
    fraction = update.files_done / update.files_total if update.files_total else 0.0
    if update.stage == "reading":
        name = display_name(update.current)
        return fraction, t(
            "stage_reading",
            done=update.files_done,
            total=update.files_total,
            name=literal_markdown(name),
        )
    if update.stage == "embedding":
        return fraction, t("stage_embedding", count=update.chunks_embedded)
    return (1.0 if update.stage == "done" else fraction), t(
        f"stage_{update.stage}", count=update.files_total
    )


context = app_context()
settings = context.settings
assistant = context.assistant
access = context.identity.access

st.title(t("library_title"))
if flash := st.session_state.pop(FLASH_KEY, None):
    st.success(literal_markdown(flash))
infos = readable_collections(assistant, access)
collection = pick_collection(
    [info.name for info in infos], settings.collection, key=COLLECTION_KEY, allow_new=True
)
if collection is None:
    collection = settings.collection

translate_file_uploader(settings.ui.max_upload_mb, services.upload_types())
with st.form("upload", clear_on_submit=True, border=True):
    files = st.file_uploader(
        t("upload_files"),
        type=services.upload_types(legacy=True),  # refused with "save it as .docx"
        accept_multiple_files=True,
        max_upload_size=settings.ui.max_upload_mb,
        help=t("upload_help", mb=settings.ui.max_upload_mb),
        key=UPLOADER_KEY,
    )
    if context.identity.groups:
        groups = st.multiselect(
            t("allowed_groups"),
            list(context.identity.groups),
            help=t("allowed_groups_help"),
            placeholder=t("choose_groups"),
        )
    else:
        groups = []
        st.caption(t("upload_for_everyone"))
    caption = st.text_input(t("image_caption"), help=t("image_caption_help"))
    submitted = st.form_submit_button(t("ingest_button"), type="primary")

if submitted and files:
    bar = st.progress(0.0, text=t("ingest_starting"))

    def show_progress(update: IngestProgress) -> None:
        """Say what the upload is doing right now, as it goes from stage to stage."""
        bar.progress(*progress_line(update))

    try:
        st.session_state[RESULTS_KEY] = services.uploads(ready_assistant(settings)).ingest(
            services.with_caption([(upload.name, upload.getvalue()) for upload in files], caption),
            collection=collection,
            groups=groups,
            access=access,
            actor=context.identity.actor,
            on_progress=show_progress,
        )
    except BllossomRagError as error:
        bar.empty()
        st.error(literal_markdown(localized_error(error)))
    else:  # show the collection (maybe new) with its results and documents
        select_collection_next_run(COLLECTION_KEY, collection)
        st.rerun()

results: list[UploadResult] = st.session_state.get(RESULTS_KEY, [])
if results:
    counts = {status: sum(r.status == status for r in results) for status in STATUSES}
    summary = t(
        "ingest_summary",
        ingested=counts["ingested"],
        unchanged=counts["unchanged"],
        failed=counts["failed"],
    )
    (st.warning if counts["failed"] else st.success)(summary)
    st.dataframe(
        pd.DataFrame(
            {
                t("result"): [t(f"status_{r.status}") for r in results],
                t("file"): [r.name for r in results],
                t("detail"): [
                    localized(r.error)
                    if r.error
                    else t("caption_applied", image=r.caption_of)
                    if r.caption_of
                    else describe(r.detail)
                    for r in results
                ],
            }
        ),
        hide_index=True,
        width="stretch",
    )

st.subheader(t("documents_in", collection=collection))
if collection not in {info.name for info in infos}:
    st.info(t("no_documents"))
    st.stop()
docs = services.documents(assistant, collection, access)
left, middle, right = st.columns(3)
left.metric(t("documents"), len(docs))
middle.metric(t("chunks"), sum(d.chunks for d in docs))
right.metric(t("size"), human_bytes(sum(d.size for d in docs)))
if not docs:
    st.info(t("no_documents"))
    st.stop()
st.dataframe(
    pd.DataFrame(
        {
            t("file"): [display_name(d.source_path) for d in docs],
            t("chunks"): [d.chunks for d in docs],
            t("size"): [human_bytes(d.size) for d in docs],
            t("groups"): [", ".join(d.groups) or t("everyone") for d in docs],
            t("ingested_at"): [local_time(d.ingested_at) for d in docs],
            t("path"): [path_tail(d.shown_path) for d in docs],
        }
    ),
    hide_index=True,
    width="stretch",
    column_config={t("path"): {"width": "large"}},
)

confirm_delete(docs, collection)
