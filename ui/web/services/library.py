"""The Library's calls: list and delete documents, ingest uploads without letting them take over.

An upload is named by its uploader, and names collide. The rule: an upload may replace the
document recorded under its name only if the uploader may read that document and gives it the
same groups it has; otherwise the file is refused with a message saying why (the uploader
renames it, or someone who may read the document deletes it first). Storing a copy per uploader
would avoid refusals but would put two documents with one name in every listing and search
result; refusing keeps one name, one document. Groups are chosen only among the uploader's own,
so nobody can make a document that they themselves cannot read, or hand it to a group they are
not in.

Uploads are written to a staging folder, ingested from there as the paths they will have, and
written in place only after their ingest succeeded: a failed upload leaves the original file,
its chunks and its groups untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ingest.discovery import find_files
from ingest.report import FileDetail, IngestProgress
from rag.access import Access
from rag.assistant import Assistant
from rag.errors import BllossomRagError, CollectionNotFoundError, DocumentNotFoundError
from rag.runtime.files import atomic_write
from rag.store import CommitResult, DocumentRecord
from rag.store.store import validate_collection_name
from ui.web.i18n import t
from ui.web.reasons import localized
from ui.web.services.common import display_name
from ui.web.uploads import safe_filename, save_upload, staging, uploads_folder

STATUSES = ("ingested", "unchanged", "failed")


def upload_types() -> list[str]:
    """File types the ingestion pipeline reads (for the uploader's filter)."""
    from ingest.formats import SUPPORTED_SUFFIXES

    return sorted(suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES)


def documents(assistant: Assistant, collection: str, access: Access) -> list[DocumentRecord]:
    """The documents of ``collection`` that ``access`` may read."""
    return assistant.store.documents(collection, access)


def remove_document(
    assistant: Assistant, collection: str, document_id: str, access: Access
) -> tuple[DocumentRecord, CommitResult]:
    """Delete a document the user can see, and its uploaded file if the UI saved it."""
    found = next((d for d in documents(assistant, collection, access) if d.id == document_id), None)
    if found is None:
        msg = f"no document {document_id!r} in collection {collection!r}"
        raise DocumentNotFoundError(msg)
    result = assistant.store.remove_documents(collection, [found.id])
    uploads = uploads_folder(assistant.settings.data_dir, collection)
    source = Path(found.source_path)
    if source.parent == uploads and not source.is_symlink():
        source.unlink(missing_ok=True)
    return found, result


@dataclass(frozen=True)
class UploadResult:
    """What happened to one uploaded file (``name`` is the name the browser sent).

    ``detail`` is what an ingested or unchanged file is in the store (its chunks).
    """

    name: str
    status: Literal["ingested", "unchanged", "failed"]
    path: str | None = None
    error: str | None = None
    detail: FileDetail | None = None


def ingest_uploads(
    assistant: Assistant,
    files: Sequence[tuple[str, bytes]],
    *,
    collection: str,
    groups: Sequence[str],
    access: Access,
    on_progress: Callable[[IngestProgress], None] | None = None,
) -> list[UploadResult]:
    """Ingest uploads as ``data_dir/uploads/<collection>/<clean name>``, like the CLI does.

    Args:
        assistant: The shared assistant (its embedder is loaded here if needed).
        files: ``(name the browser sent, bytes)`` pairs.
        collection: The target collection.
        groups: Who may read them; each must be one of the uploader's groups.
        access: The uploader.
        on_progress: Called as the ingest goes.

    Raises:
        BllossomRagError: A chosen group is not the uploader's, or the collection is invalid.

    """
    from ingest.pipeline import Ingestor

    name = validate_collection_name(collection)
    chosen = tuple(sorted(set(groups)))
    foreign = sorted(set(chosen) - access.groups)
    if foreign and not access.everything:
        raise BllossomRagError(t("groups_not_yours", groups=", ".join(foreign)))
    folder = uploads_folder(assistant.settings.data_dir, name)
    held = _documents_by_path(assistant, name)
    results: list[UploadResult] = []
    uploads: dict[str, tuple[str, bytes]] = {}  # clean name -> (browser's name, bytes)
    for client_name, data in files:
        clean = safe_filename(client_name)
        if clean in uploads:
            replaced = t("replaced_by", name=client_name)
            results.append(UploadResult(uploads[clean][0], "failed", error=replaced))
        uploads[clean] = (client_name, data)
    for clean, (client_name, _) in list(uploads.items()):
        refusal = _refusal(held.get(str(folder / clean)), clean, access, chosen)
        if refusal is not None:
            results.append(UploadResult(client_name, "failed", error=refusal))
            del uploads[clean]
    if not uploads:
        return results
    ingestor = Ingestor.from_settings(
        assistant.settings, assistant.store, assistant.embeddings, llm=lambda: assistant.llm
    )
    with staging(folder) as staged:
        paths = [save_upload(staged, clean, data) for clean, (_, data) in uploads.items()]
        found = find_files(paths, record_in=folder)
        report = ingestor.ingest(found, collection=name, groups=chosen, on_progress=on_progress)
        succeeded: list[tuple[Literal["ingested", "unchanged"], str]] = [
            *(("ingested", path) for path in report.ingested),
            *(("unchanged", path) for path in report.unchanged),
        ]
        for status, path in succeeded:
            client_name, data = uploads[Path(path).name]
            atomic_write(Path(path), data, mode=0o600)  # only now does it replace the old one
            detail = report.details.get(path) or _stored_detail(held.get(path))
            results.append(UploadResult(client_name, status, path, detail=detail))
    for failure in report.failed:
        client_name = uploads[Path(failure.path).name][0]
        results.append(UploadResult(client_name, "failed", error=localized(failure.error)))
    return results


def _stored_detail(document: DocumentRecord | None) -> FileDetail | None:
    """What an unchanged upload already is in the store."""
    return None if document is None else FileDetail(chunks=document.chunks)


def _documents_by_path(assistant: Assistant, collection: str) -> dict[str, DocumentRecord]:
    """Every document of the collection by its path, whoever may read it (never shown)."""
    try:
        return {d.source_path: d for d in assistant.store.documents(collection)}
    except CollectionNotFoundError:
        return {}


def _refusal(
    holder: DocumentRecord | None, name: str, access: Access, groups: tuple[str, ...]
) -> str | None:
    """Why an upload may not replace the document recorded under its name, if it may not."""
    if holder is None:
        return None
    if not access.can_read(holder.groups):
        # Say nothing about the document beyond that the name is taken.
        return t("upload_name_taken", name=name)
    if holder.groups != groups:
        held_by = ", ".join(holder.groups) or t("everyone")
        return t("upload_groups_differ", name=display_name(holder.source_path), groups=held_by)
    return None
