r"""Uploads: the one policy every upload route follows (the web app, the document API).

**Names.** A client controls an upload's name completely: ``../../.bashrc``, ``C:\\evil``, a NUL
byte, a thousand characters, a leading dot. Only a cleaned last path component is kept
(:func:`safe_filename`) and written into ``data_dir/uploads/<collection>/<groups>/`` here,
atomically and without following symlinks. What the bytes *are* is not decided here: the saved
file goes through the same ingestion pipeline (size cap, loaders, content checks) as a file
named on the command line.

**Who may replace what.** Uploads are kept in a folder per set of groups (``public``,
``groups-hr``, ``groups-hr.legal``), so the same name uploaded for different groups is two
documents, and an upload only ever meets documents of its own groups: documents its uploader
may read (groups are chosen only among the uploader's own). So an upload's name tells nobody
whether a document of that name exists for others. An upload replaces the document recorded
under its path; it is refused only when that document's groups were changed since (by an
administrator or a rule) to ones the uploader may not read, or to other groups (the uploader
renames it, or someone who may read the document deletes it first). Nobody can make a document
that they themselves cannot read, or hand it to a group they are not in.

**One at a time.** Uploads into one collection take turns (a lock file, so across processes
too): two pushes of one name at once end as one after the other, never as one's chunks beside
the other's file.

**Nothing half done.** Uploads are written to a hidden staging folder and ingested from there
as the paths they will have. Each is written in place just before the commit that records it
(the pipeline's ``before_commit``) and put back as it was if that commit fails: a failed upload
leaves the original file, its chunks and its groups untouched, and a run stopped anywhere (the
web page left mid-upload) leaves no document in the store without its uploaded file. Refusals are
:class:`~rag.errors.Message` templates, so each interface shows them in its own language.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import shutil
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ingest.discovery import SIDECAR_SUFFIX, find_files, is_sidecar
from ingest.report import FileDetail, IngestProgress, ProgressCallback
from rag.access import Access
from rag.access.audit import LOCAL, Actor
from rag.errors import BllossomRagError, CollectionNotFoundError, DocumentNotFoundError, Message
from rag.runtime.files import atomic_write
from rag.store import CommitResult, DocumentRecord, DocumentStore, validate_collection_name
from rag.store.full_disk import writing_under

if TYPE_CHECKING:
    from ingest.pipeline import Ingestor

UPLOADS_FOLDER = "uploads"
# Uploads for no group, and the prefix of the folders for groups: a group name never makes
# ``public``.
PUBLIC_FOLDER = "public"
GROUPS_FOLDER_PREFIX = "groups-"
_PLAIN_GROUP = re.compile(r"[\w-]{1,32}")
STAGING_PREFIX = ".staging-"
# Most file systems allow 255 bytes per name; leave room for a temp-file prefix and suffix.
MAX_NAME_BYTES = 200
_UNSAFE = re.compile(r"[^\w.\-()]+")


def safe_filename(name: str) -> str:
    """A file name that is safe to create: one component, no hidden or special names.

    Letters of any script survive (``휴가 정책.md`` -> ``휴가_정책.md``); path separators,
    control characters and other punctuation become ``_``; leading dots are dropped.
    """
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", name).lstrip("._")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    suffix = suffix[:16]
    stem = stem.strip("._") or "upload"
    budget = MAX_NAME_BYTES - len(suffix.encode()) - 1
    stem = stem.encode()[:budget].decode(errors="ignore")
    return f"{stem}.{suffix}" if suffix else stem


def collection_uploads(data_dir: Path, collection: str) -> Path:
    """``data_dir/uploads/<collection>`` (the collection name is validated by the caller).

    ``data_dir`` is resolved (the operator may keep it behind a link); the folders below it are
    not, so a link planted there is still seen and refused.
    """
    return Path(data_dir).expanduser().resolve() / UPLOADS_FOLDER / collection


def uploads_folder(data_dir: Path, collection: str, groups: Sequence[str]) -> Path:
    """Where uploads for ``groups`` go: ``public``, or ``groups-`` and the groups joined by dots.

    Groups whose names are not plain words (letters, digits, ``_``, ``-``) get a hash of the
    exact groups instead, so two sets of groups never share a folder.
    """
    chosen = sorted(set(groups))
    if not chosen:
        return collection_uploads(data_dir, collection) / PUBLIC_FOLDER
    if all(_PLAIN_GROUP.fullmatch(group) for group in chosen) and len(chosen) <= 8:
        name = GROUPS_FOLDER_PREFIX + ".".join(chosen)
    else:
        name = GROUPS_FOLDER_PREFIX + hashlib.sha256("\n".join(chosen).encode()).hexdigest()[:16]
    return collection_uploads(data_dir, collection) / name


def save_upload(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/safe_filename(name)`` atomically; return the path.

    The same name written again replaces the file (the rename replaces a symlink planted at
    the name, never the file it points to).
    """
    _refuse_symlink(folder)
    target = folder / safe_filename(name)
    atomic_write(target, data, mode=0o600)
    return target


@contextlib.contextmanager
def _one_at_a_time(folder: Path) -> Iterator[None]:
    """Hold the uploads lock of a collection (``.lock`` in its folder), across processes.

    Two uploads of one name at once would each ingest and then write their file in place, and
    the store could end up with one's chunks beside the other's file; in turn, they cannot.
    """
    folder.mkdir(parents=True, exist_ok=True)
    _refuse_symlink(folder)
    descriptor = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


@contextlib.contextmanager
def staging(folder: Path) -> Iterator[Path]:
    """A fresh hidden folder inside ``folder`` where uploads wait until they are ingested.

    Discovery passes over hidden folders, so nothing ever ingests a staged file by walking the
    uploads folder; the folder and whatever is left in it are deleted on the way out.
    """
    folder.mkdir(parents=True, exist_ok=True)
    _refuse_symlink(folder)
    staged = folder / f"{STAGING_PREFIX}{secrets.token_hex(8)}"
    staged.mkdir(mode=0o700)
    try:
        yield staged
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _refuse_symlink(folder: Path) -> None:
    if folder.is_symlink():
        msg = f"upload folder {folder} is a symlink; refusing to write through it"
        raise BllossomRagError(msg)


# --- the policy ------------------------------------------------------------------------------

NOT_YOUR_GROUPS = "you can only choose groups you belong to, not: {groups}"
REPLACED_BY = "replaced by {name} (same name)"
NAME_TAKEN = "a document named {name} exists that you cannot read: upload it under another name"
GROUPS_DIFFER = (
    "{name} exists for other groups ({groups}): upload it for the same groups, or delete it first"
)
EVERYONE = "everyone"
CAPTION_UNUSED = "caption file of {image}: ingest the image to use it"


@dataclass(frozen=True)
class UploadResult:
    """What happened to one uploaded file (``name`` is the name the client sent).

    ``detail`` is what an ingested or unchanged file is in the store (its chunks); ``error``
    says why a failed one failed. A caption file uploaded with its image (``photo.png.txt``)
    is no document of its own: it shares its image's status and names it in ``caption_of``.
    """

    name: str
    status: Literal["ingested", "unchanged", "failed"]
    path: str | None = None
    error: Message | None = None
    detail: FileDetail | None = None
    caption_of: str | None = None  # a caption file: the uploaded image it captions


STATUSES = ("ingested", "unchanged", "failed")


@dataclass(frozen=True)
class Uploads:
    """The uploads of one store: what every upload route (the web app, the document API) calls.

    Args:
        store: The store they go into.
        data_dir: Where the uploads folder lives.
        ingestor: Builds the ingestor (called only when some file is not refused first, so a
            refused batch loads no model).

    """

    store: DocumentStore
    data_dir: Path
    ingestor: Callable[[], Ingestor]

    def ingest(
        self,
        files: Sequence[tuple[str, bytes]],
        *,
        collection: str,
        groups: Sequence[str],
        access: Access,
        actor: Actor = LOCAL,
        on_progress: ProgressCallback | None = None,
    ) -> list[UploadResult]:
        """Ingest uploads as ``data_dir/uploads/<collection>/<clean name>``, like the CLI does.

        Args:
            files: ``(name the client sent, bytes)`` pairs.
            collection: The target collection (created by its first commit).
            groups: Who may read them; each must be one of the uploader's groups.
            access: The uploader's reading rights.
            actor: The uploader, for the audit trail's record of changed groups.
            on_progress: Called as the ingest goes.

        Raises:
            BllossomRagError: A chosen group is not the uploader's, or the collection is invalid.

        """
        name = validate_collection_name(collection)
        chosen = tuple(sorted(set(groups)))
        foreign = sorted(set(chosen) - access.groups)
        if foreign and not access.everything:
            raise BllossomRagError(Message.because(NOT_YOUR_GROUPS, groups=", ".join(foreign)))
        folder = uploads_folder(self.data_dir, name, chosen)
        with _one_at_a_time(collection_uploads(self.data_dir, name)):
            return self._ingest(files, name, folder, chosen, access, actor, on_progress)

    def _ingest(
        self,
        files: Sequence[tuple[str, bytes]],
        name: str,
        folder: Path,
        chosen: tuple[str, ...],
        access: Access,
        actor: Actor,
        on_progress: ProgressCallback | None,
    ) -> list[UploadResult]:
        """The uploads of one collection, while no other upload into it runs."""
        held = _documents_by_path(self.store, name)
        results: list[UploadResult] = []
        uploads: dict[str, tuple[str, bytes]] = {}  # clean name -> (client's name, bytes)
        for client_name, data in files:
            clean = safe_filename(client_name)
            if clean in uploads:
                replaced = Message.because(REPLACED_BY, name=client_name)
                results.append(UploadResult(uploads[clean][0], "failed", error=replaced))
            uploads[clean] = (client_name, data)
        for clean, (client_name, _) in list(uploads.items()):
            refusal = _refusal(held.get(str(folder / clean)), clean, access, chosen)
            if refusal is not None:
                results.append(UploadResult(client_name, "failed", error=refusal))
                del uploads[clean]
        if uploads:
            results += self._staged(uploads, folder, name, chosen, held, actor, on_progress)
        return results

    @staticmethod
    def _captions(uploads: dict[str, tuple[str, bytes]]) -> dict[str, str]:
        """The uploads that are caption files of an image uploaded with them: name -> image."""
        return {
            clean: clean[: -len(SIDECAR_SUFFIX)]
            for clean in uploads
            if is_sidecar(clean, uploads.__contains__)
        }

    def remove(
        self, collection: str, document_id: str, access: Access
    ) -> tuple[DocumentRecord, CommitResult]:
        """Delete a document ``access`` may read, and its uploaded file if an upload saved it.

        Raises:
            DocumentNotFoundError: No such document, or one the caller may not read (the same
                answer, so the caller learns nothing about documents it cannot see).

        """
        readable = self.store.documents(collection, access)
        found = next((d for d in readable if d.id == document_id), None)
        if found is None:
            msg = f"no document {document_id!r} in collection {collection!r}"
            raise DocumentNotFoundError(msg)
        result = self.store.remove_documents(collection, [found.id])
        source = Path(found.source_path)
        uploaded = source.is_relative_to(collection_uploads(self.data_dir, collection))
        if uploaded and not source.is_symlink():
            source.unlink(missing_ok=True)
        return found, result

    def _staged(
        self,
        uploads: dict[str, tuple[str, bytes]],
        folder: Path,
        collection: str,
        groups: tuple[str, ...],
        held: dict[str, DocumentRecord],
        actor: Actor,
        on_progress: ProgressCallback | None,
    ) -> list[UploadResult]:
        """Ingest the accepted uploads from staging; write each in place once it succeeded."""
        results: list[UploadResult] = []
        captions = self._captions(uploads)  # read with their images, not ingested themselves
        with writing_under(self.data_dir), staging(folder) as staged:
            if on_progress is not None:
                on_progress(IngestProgress(0, len(uploads), 0, "", "saving"))
            paths = [save_upload(staged, clean, data) for clean, (_, data) in uploads.items()]
            found = find_files([p for p in paths if p.name not in captions], record_in=folder)
            report = self.ingestor().ingest(
                found,
                collection=collection,
                groups=groups,
                on_progress=on_progress,
                actor=actor,
                before_commit=lambda committed: _placed(committed, uploads),
            )
            for path in report.unchanged:  # the same bytes: in place again if it went missing
                for name in _with_caption(Path(path).name, uploads):
                    atomic_write(Path(path).with_name(name), uploads[name][1], mode=0o600)
            succeeded: list[tuple[Literal["ingested", "unchanged"], str]] = [
                *(("ingested", path) for path in report.ingested),
                *(("unchanged", path) for path in report.unchanged),
            ]
            for status, path in succeeded:
                client_name = uploads[Path(path).name][0]
                detail = report.details.get(path) or _stored_detail(held.get(path))
                results.append(UploadResult(client_name, status, path, detail=detail))
        for failure in report.failed:
            client_name = uploads[Path(failure.path).name][0]
            results.append(UploadResult(client_name, "failed", error=failure.error))
        by_image = {result.path and Path(result.path).name: result for result in results}
        for caption, image in captions.items():
            of_image = by_image.get(image)
            client_name, image_name = uploads[caption][0], uploads[image][0]
            if of_image is not None and of_image.status != "failed":
                path = str(Path(of_image.path or "").with_name(caption))
                results.append(
                    UploadResult(client_name, of_image.status, path, caption_of=image_name)
                )
            else:
                unused = Message.because(CAPTION_UNUSED, image=image_name)
                results.append(
                    UploadResult(client_name, "failed", error=unused, caption_of=image_name)
                )
        return results


@contextlib.contextmanager
def _placed(paths: Sequence[str], uploads: dict[str, tuple[str, bytes]]) -> Iterator[None]:
    """The uploads at ``paths`` written in place while their commit runs; undone if it fails.

    Written before the commit, so a committed document always has its file; a file that was
    there before is kept in memory (uploads are capped in size) and written back on failure.
    """
    previous: list[tuple[Path, bytes | None]] = []
    try:
        for document in map(Path, paths):
            _refuse_symlink(document.parent)
            for name in _with_caption(document.name, uploads):
                path = document.with_name(name)
                previous.append((path, path.read_bytes() if path.is_file() else None))
                atomic_write(path, uploads[name][1], mode=0o600)
        yield
    except BaseException:  # the commit failed, or the run was stopped: as it was
        for path, old in reversed(previous):
            if old is None:
                path.unlink(missing_ok=True)
            else:
                atomic_write(path, old, mode=0o600)
        raise


def _with_caption(name: str, uploads: dict[str, tuple[str, bytes]]) -> list[str]:
    """An uploaded file's name, and its caption file's if that was uploaded with it."""
    caption = name + SIDECAR_SUFFIX
    return [name, caption] if caption in uploads and is_sidecar(caption, name.__eq__) else [name]


def _stored_detail(document: DocumentRecord | None) -> FileDetail | None:
    """What an unchanged upload already is in the store."""
    return None if document is None else FileDetail(chunks=document.chunks)


def _documents_by_path(store: DocumentStore, collection: str) -> dict[str, DocumentRecord]:
    """Every document of the collection by its path, whoever may read it (never shown)."""
    try:
        return {d.source_path: d for d in store.documents(collection)}
    except CollectionNotFoundError:
        return {}


def _refusal(
    holder: DocumentRecord | None, name: str, access: Access, groups: tuple[str, ...]
) -> Message | None:
    """Why an upload may not replace the document recorded under its name, if it may not."""
    if holder is None:
        return None
    if not access.can_read(holder.groups):
        # Say nothing about the document beyond that the name is taken.
        return Message.because(NAME_TAKEN, name=name)
    if holder.groups != groups:
        held_by = ", ".join(holder.groups) or EVERYONE
        return Message.because(GROUPS_DIFFER, name=Path(holder.source_path).name, groups=held_by)
    return None
