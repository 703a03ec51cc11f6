"""The ingestion pipeline: find, match, read, check content, load, chunk, embed, commit.

It is incremental. A found file is matched to the document it already is
(:class:`~ingest.identity.Catalog`); when its fingerprint (its bytes, its caption sidecar's
bytes, and for documents with images whether generator captions were asked for) is unchanged,
nothing is parsed: the file is skipped, or, when it moved or its groups changed, its stored
chunks and vectors are committed again under the new record. A changed file is re-chunked and
only chunks that are new are embedded (the others reuse their stored vectors, and image chunks
their stored captions, so the generator is not asked twice). Embedding is batched across files
(identical texts embedded once), and each batch of documents is committed in one transaction,
so a crash loses at most one batch and a rerun finishes the job without duplicates. A
collection is created by its first commit, so a run in which every file fails leaves no empty
collection behind.

Every file ends in exactly one of four lists: ingested, unchanged, failed (with one reason), or
skipped (found in a folder, of a type no loader reads).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Self

from ingest.assembly import ChunkAssembler, Draft, LoadedDocument, PendingDocument
from ingest.captions import Captioner, read_sidecar
from ingest.chunking.chunker import TokenChunker
from ingest.discovery import Candidate, FoundFiles, find_files, read_capped
from ingest.file_limits import Limits, OcrBudget
from ingest.fingerprints import file_fingerprint
from ingest.fingerprints import with_images as image_fingerprint
from ingest.groups import GroupChoice, GroupPolicy
from ingest.identity import Catalog
from ingest.loaders import Figure, Loaded, load
from ingest.report import FileFailure, IngestProgress, IngestReport, ProgressCallback, Stage
from rag.access.audit import LOCAL, Actor, AuditLog, audit_log
from rag.access.rules import AccessRule, access_rules
from rag.config import Settings
from rag.embeddings.base import TextEmbeddings
from rag.errors import CollectionNotFoundError, IngestError, Message
from rag.store import DocumentRecord, DocumentStore, DocumentUpdate
from rag.store.full_disk import writing_under
from rag.text.kiwi import preload as preload_kiwi

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

# Wraps a commit, given its documents' paths (see Ingestor.ingest's ``before_commit``).
CommitHook = Callable[[Sequence[str]], contextlib.AbstractContextManager[None]]

# New chunks gathered before one embedding call and one commit.
DEFAULT_BATCH_CHUNKS = 256
# Loaded files whose text, together, is about this long are chunked in one pass, so small files
# share tokenizer calls; a longer file is chunked alone, lazily.
CHUNK_BATCH_CHARS = 64 * 1024


class Ingestor:
    """Ingest files into one store with one embedder.

    Args:
        store: Where documents are committed.
        embeddings: The embedder; its tokenizer also sizes the chunks.
        chunk_tokens: Chunk size in embedder tokens.
        chunk_overlap: Overlap between consecutive chunks, in tokens.
        max_file_bytes: Larger files fail without being read.
        limits: Per-file limits for images, chunks and the PDF parser.
        captioner: Adds generator captions to images; None uses human captions only.
        batch_chunks: New chunks per embedding call and commit.
        chunk_structure: Cut chunks at the documents' own sections and units, each starting
            with its heading path (:mod:`ingest.chunking.outline`); False packs plain sentences.
        rules: The access rules that give documents their groups by path.
        audit: Where changes of a document's groups are recorded; None: not recorded.

    """

    def __init__(
        self,
        store: DocumentStore,
        embeddings: TextEmbeddings,
        *,
        chunk_tokens: int,
        chunk_overlap: int,
        max_file_bytes: int,
        limits: Limits | None = None,
        captioner: Captioner | None = None,
        batch_chunks: int = DEFAULT_BATCH_CHUNKS,
        chunk_structure: bool = True,
        rules: Sequence[AccessRule] = (),
        audit: AuditLog | None = None,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.chunker = TokenChunker(
            embeddings.tokenizer, chunk_tokens, chunk_overlap, structure=chunk_structure
        )
        self.max_file_bytes = max_file_bytes
        self.limits = limits or Limits()
        self.captioner = captioner
        self.assembler = ChunkAssembler(store, self.chunker, self.limits, captioner)
        self.batch_chunks = batch_chunks
        self.rules = tuple(rules)
        self.audit = audit

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: DocumentStore,
        embeddings: TextEmbeddings,
        *,
        llm: Callable[[], BaseChatModel] | None = None,
    ) -> Self:
        """The ingestor every front end uses, configured from :class:`Settings`.

        Args:
            settings: The configuration.
            store: The store to write to.
            embeddings: The embedder.
            llm: Returns the generator that captions images; called only when
                ``settings.ingest.caption_images`` is on (so a front end passes its own lazily built
                model and nothing loads when captions are off).

        Raises:
            ValueError: Captions are on and no generator was given.

        """
        captioner = None
        if settings.ingest.caption_images:
            if llm is None:
                msg = "caption_images is on: pass the generator that captions images (llm=)"
                raise ValueError(msg)
            captioner = Captioner(llm())
        return cls(
            store,
            embeddings,
            chunk_tokens=settings.ingest.chunk_tokens,
            chunk_overlap=settings.ingest.chunk_overlap,
            max_file_bytes=settings.ingest.max_file_bytes,
            limits=Limits.from_settings(settings),
            captioner=captioner,
            batch_chunks=settings.ingest.batch_chunks,
            chunk_structure=settings.ingest.chunk_structure,
            rules=access_rules(settings),
            audit=audit_log(settings, store),
        )

    def ingest(
        self,
        files: FoundFiles | Iterable[Path | str],
        *,
        collection: str,
        groups: Sequence[str] | None = None,
        on_progress: ProgressCallback | None = None,
        prune: bool = False,
        actor: Actor = LOCAL,
        before_commit: CommitHook | None = None,
    ) -> IngestReport:
        """Ingest every supported file under ``files`` into ``collection``.

        Args:
            files: What :func:`~ingest.discovery.find_files` found (front ends call it before
                loading the embedder), or the files and folders to look in.
            collection: Target collection (created by its first commit).
            groups: Groups allowed to read these documents, set explicitly (empty: everyone);
                None sets none, and the access rules and each document's own groups decide
                (:mod:`ingest.groups`).
            on_progress: Called after each file and each embedded batch.
            prune: Also remove documents under the paths whose files are gone (the paths
                themselves may be gone too).
            actor: Who ingests, for the audit trail's record of changed groups.
            before_commit: Wraps each commit, given the paths of the documents it commits: what
                has to be in place before they are (:mod:`ingest.uploads` writes the uploaded
                files there), and is undone if the commit fails.

        Raises:
            IngestError: A path does not exist, or a folder holds nothing to ingest (only
                when ``files`` are paths; :func:`~ingest.discovery.find_files` says why).
            StoreError: The disk holding the store is full (what was committed before stays).

        """
        found = files if isinstance(files, FoundFiles) else find_files(files, allow_missing=prune)
        catalog = Catalog(collection, self.existing_documents(collection))
        candidates = found.to_ingest
        run = _Run(
            collection,
            IngestReport(skipped=[str(c.path) for c in found.skipped]),
            GroupPolicy(self.rules, groups),
            actor,
            replace(self.limits, ocr_budget=OcrBudget()),  # this ingest's own OCR budget
            on_progress,
            len(candidates),
            before_commit,
        )

        # Figures are stored before the commit that refers to them: no image sweep meanwhile.
        with writing_under(self.store.data_dir), self.store.images.in_use():
            for done, candidate in enumerate(candidates, start=1):
                run.files_done = done
                self._take(run, candidate, self._prepare(candidate, catalog, run))
                run.notify("reading", str(candidate.source))
            self._batched(run, self.assembler.chunk(run.waiting, run.report))
            self._flush(run)
            if prune:
                present = {str(c.source) for c in found.candidates}
                gone = catalog.gone_under(found.roots, present)
                if gone:
                    self.store.commit(collection, removals=[d.id for d in gone])
                    run.report.pruned.extend(d.source_path for d in gone)
        self.finish(collection, on_start=lambda: run.notify("indexing", ""))
        run.notify("done", "")
        return run.report

    def commit(self, collection: str, updates: list[DocumentUpdate]) -> None:
        """Commit one batch of documents in one transaction (creating the collection)."""
        embeddings = self.embeddings
        self.store.ensure_collection(collection, embeddings.name, embeddings.dimension)
        self.store.commit(collection, updates)

    def finish(self, collection: str, on_start: Callable[[], None] | None = None) -> None:
        """Build and checkpoint the search views now, so the first query after a run is fast.

        Nothing to build when the run made no collection; otherwise ``on_start`` is told first.
        """
        if self._exists(collection):
            if on_start is not None:
                on_start()
            self.store.refresh(collection, self.embeddings.calibration.space)
            self.store.collect_garbage()  # images of replaced or pruned documents

    def _take(
        self,
        run: _Run,
        candidate: Candidate,
        outcome: PendingDocument | LoadedDocument | FileFailure | None,
    ) -> None:
        """File one file's outcome: failed, unchanged, or on its way to a commit."""
        if isinstance(outcome, FileFailure):
            run.report.failed.append(outcome)
        elif outcome is None:
            run.report.unchanged.append(str(candidate.source))
        elif isinstance(outcome, LoadedDocument):
            preload_kiwi()  # the BM25 view needs Kiwi at the end: it loads while files embed
            run.waiting.append(outcome)
            if sum(w.chars for w in run.waiting) >= CHUNK_BATCH_CHARS:
                self._batched(run, self.assembler.chunk(run.waiting, run.report))
                run.waiting = []
        else:
            self._batched(run, [outcome])

    def existing_documents(self, collection: str) -> list[DocumentRecord]:
        """The collection's documents; checks it was built with this embedder's vector size."""
        if not self._exists(collection):
            return []
        self.store.ensure_collection(collection, self.embeddings.name, self.embeddings.dimension)
        return self.store.documents(collection)

    def _exists(self, collection: str) -> bool:
        try:
            self.store.collection(collection)
        except CollectionNotFoundError:
            return False
        return True

    # --- one file ----------------------------------------------------------------------------

    def _prepare(
        self,
        candidate: Candidate,
        catalog: Catalog,
        run: _Run,
    ) -> PendingDocument | LoadedDocument | FileFailure | None:
        """Read and load one file; None when it is unchanged since the last ingest.

        A moved or regrouped file comes back ready (its stored chunks); a changed one loaded,
        to be chunked with others (:meth:`_chunk`).

        Run-wide notes of the loaders (OCR unavailable) go to ``report`` even when the file
        then fails, since they usually explain why.
        """
        path, source = candidate.path, candidate.source
        if candidate.error is not None:
            return FileFailure.of(str(source), candidate.error)
        try:
            data = read_capped(path, self.max_file_bytes)
            sidecar, sidecar_bytes = "", None
            if candidate.sidecar is not None:
                sidecar_bytes, sidecar = read_sidecar(candidate.sidecar)
            plain = file_fingerprint(data, sidecar_bytes)
            with_images = image_fingerprint(
                plain, "generated" if self.captioner is not None else "human"
            )
            requested = run.policy.requested(candidate.key, source)
            asked = None if requested is None else requested.groups
            doc_id, previous = catalog.match(source, candidate.key, (plain, with_images), asked)
            choice = run.policy.settle(requested, previous)
            stat = path.stat()
            document = DocumentRecord(
                id=doc_id,
                collection=catalog.collection,
                source_path=str(source),
                content_sha256=plain,
                size=len(data),
                mtime=stat.st_mtime,
                groups=choice.groups,
                groups_origin=choice.origin,
                groups_rule=choice.rule,
                relative_path=_shown_path(candidate.key, str(source), previous),
            )
            if previous is not None and previous.content_sha256 in (plain, with_images):
                stored_as = (previous.source_path, previous.relative_path, GroupChoice.of(previous))
                if stored_as == (str(source), document.relative_path, choice):
                    return None
                return self.assembler.recommit(previous, document)
            loaded = load(path, data, run.limits)
            run.report.notice(*loaded.run_notes)
            if sidecar:
                _caption_standalone(loaded, sidecar)
            return LoadedDocument(document, loaded, with_images, previous)
        except IngestError as error:
            return FileFailure.of(str(source), error)
        except OSError as error:
            return FileFailure(str(source), Message(error.strerror or str(error)))

    # --- many files --------------------------------------------------------------------------

    def _batched(self, run: _Run, ready: list[PendingDocument]) -> None:
        """Add files to the batch, committing it whenever it holds ``batch_chunks`` new chunks.

        Files chunked together (small ones share tokenizer calls) still commit in batches of
        the configured size, so a crash costs at most one batch and memory stays bounded.
        """
        for pending in ready:
            run.batch.append(pending)
            if sum(len(p.new_chunk_ids()) for p in run.batch) >= self.batch_chunks:
                self._flush(run)

    def _flush(self, run: _Run) -> None:
        """Embed the batch's new chunks and commit it; report each file and group change."""
        batch, run.batch = run.batch, []
        if not batch:
            return
        to_embed = [(pending, cid) for pending in batch for cid in pending.new_chunk_ids()]
        # Identical text (a copied file, a repeated disclaimer) is embedded once.
        drafts: dict[str, Draft] = {}
        for pending, cid in to_embed:
            drafts.setdefault(pending.drafts[cid].identity, pending.drafts[cid])
        run.notify("embedding", "")
        embedded = self.embeddings.encode_documents(
            [draft.embedded or draft.text for draft in drafts.values()],
            token_ids=[draft.token_ids for draft in drafts.values()],
        )
        vectors = dict(zip(drafts, embedded, strict=True))
        updates = [pending.update(vectors) for pending in batch]
        run.notify("committing", "")
        paths = [pending.document.source_path for pending in batch]
        with run.before_commit(paths) if run.before_commit else contextlib.nullcontext():
            self.commit(run.collection, updates)
        report = run.report
        for pending in batch:
            report.ingested.append(pending.document.source_path)
            report.details[pending.document.source_path] = pending.detail()
            change = pending.group_change()
            if change is not None:
                report.access_changes.append(change)
                if self.audit is not None:
                    self.audit.record(change.audit_entry(run.actor, run.collection))
        report.chunks_embedded += len(to_embed)
        report.chunks_reused += sum(len(p.reused) for p in batch)


@dataclass
class _Run:
    """One ingest call: its report, its groups, who runs it, its limits, what waits to commit."""

    collection: str
    report: IngestReport
    policy: GroupPolicy
    actor: Actor
    limits: Limits
    on_progress: ProgressCallback | None = None
    files_total: int = 0
    before_commit: CommitHook | None = None
    files_done: int = 0
    batch: list[PendingDocument] = field(default_factory=list)
    waiting: list[LoadedDocument] = field(default_factory=list)

    def notify(self, stage: Stage, current: str) -> None:
        """Tell ``on_progress`` where the run is."""
        if self.on_progress is not None:
            done, total, embedded = self.files_done, self.files_total, self.report.chunks_embedded
            self.on_progress(IngestProgress(done, total, embedded, current, stage))


def _shown_path(key: str, source: str, previous: DocumentRecord | None) -> str:
    """The path people are shown: the file's key, or its folder's path when named alone.

    A file named on its own has only its name for a key; the same file stored before through its
    folder keeps that folder's path, which says more.
    """
    if (
        previous is not None
        and previous.source_path == source
        and "/" not in key
        and previous.relative_path.endswith("/" + key)
    ):
        return previous.relative_path
    return key


def _caption_standalone(loaded: Loaded, caption: str) -> None:
    """Put a sidecar caption on the image file's own figure."""
    for index, block in enumerate(loaded.blocks):
        if isinstance(block, Figure) and block.fallback is not None:
            loaded.blocks[index] = Figure(
                block.image, (caption, *block.captions), block.page, block.fallback
            )
