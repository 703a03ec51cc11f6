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

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest.captions import Captioner, caption_text, read_sidecar
from ingest.chunking.chunker import PATH_SEPARATOR, TextChunk, TokenChunker
from ingest.chunking.outline import sections
from ingest.discovery import Candidate, FoundFiles, find_files, read_capped
from ingest.extractors.nearby import TOO_MANY_IMAGES
from ingest.file_limits import Limits
from ingest.identity import Catalog, chunk_id
from ingest.loaders import Figure, Loaded, Segment, load
from ingest.loaders.base import squash
from ingest.report import FileDetail, FileFailure, IngestProgress, IngestReport, ProgressCallback
from rag.config import Settings
from rag.embeddings.base import TextEmbeddings
from rag.errors import CollectionNotFoundError, IngestError, Message
from rag.store import (
    ChunkKind,
    DocumentRecord,
    DocumentStore,
    DocumentUpdate,
    NewChunk,
    StoredChunk,
)
from rag.text import headings
from rag.text.kiwi import preload as preload_kiwi

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

# New chunks gathered before one embedding call and one commit.
DEFAULT_BATCH_CHUNKS = 256
# Loaded files whose text, together, is about this long are chunked in one pass, so small files
# share tokenizer calls; a longer file is chunked alone, lazily.
CHUNK_BATCH_CHARS = 64 * 1024


@dataclass(frozen=True)
class _Draft:
    text: str  # the passage as stored (without its heading path)
    page: int | None
    tokens: int
    kind: ChunkKind = "text"
    image_sha256: str | None = None
    embedded: str | None = None  # the text to embed, when it is not ``text``
    token_ids: tuple[int, ...] | None = None  # the embedded text's ids, when the chunker knows
    heading: str = ""

    @property
    def identity(self) -> str:
        """What the chunk's id and its vector are keyed by: its heading path and its text."""
        return headings.compose(self.heading, self.text)


@dataclass
class _Pending:
    """A document waiting for its new chunks' vectors."""

    document: DocumentRecord
    drafts: dict[str, _Draft] = field(default_factory=dict)  # chunk id -> draft, reading order
    reused: dict[str, np.ndarray] = field(default_factory=dict)  # chunk id -> stored vector
    notes: list[Message] = field(default_factory=list)
    moved_from: str | None = None
    produced: int = 0  # chunks made, identical ones included: the work done, bounded

    def new_chunk_ids(self) -> list[str]:
        return [cid for cid in self.drafts if cid not in self.reused]

    def update(self, embedded: Mapping[str, np.ndarray]) -> DocumentUpdate:
        """The document with all its chunks, given the vectors of the new chunks' texts."""
        chunks = [
            NewChunk(
                id=cid,
                ordinal=ordinal,
                text=draft.text,
                tokens=draft.tokens,
                page=draft.page,
                kind=draft.kind,
                image_sha256=draft.image_sha256,
                heading=draft.heading,
                vector=self.reused[cid] if cid in self.reused else embedded[draft.identity],
            )
            for ordinal, (cid, draft) in enumerate(self.drafts.items())
        ]
        return DocumentUpdate(self.document, chunks)

    def detail(self) -> FileDetail:
        images = sum(1 for d in self.drafts.values() if d.kind == "image")
        return FileDetail(len(self.drafts), images, tuple(self.notes), self.moved_from)


@dataclass
class _Previous:
    """What the store holds for a document being replaced: vectors and chunks by id."""

    vectors: dict[str, np.ndarray]
    chunks: dict[str, StoredChunk]


@dataclass
class _ToChunk:
    """A loaded document waiting to be chunked with others."""

    document: DocumentRecord
    loaded: Loaded
    with_images: str

    @property
    def chars(self) -> int:
        return sum(len(b.text) for b in self.loaded.blocks if isinstance(b, Segment))


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
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.chunker = TokenChunker(
            embeddings.tokenizer, chunk_tokens, chunk_overlap, structure=chunk_structure
        )
        self.max_file_bytes = max_file_bytes
        self.limits = limits or Limits()
        self.captioner = captioner
        self.batch_chunks = batch_chunks

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: DocumentStore,
        embeddings: TextEmbeddings,
        *,
        llm: Callable[[], BaseChatModel] | None = None,
    ) -> Ingestor:
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
        )

    def ingest(
        self,
        files: FoundFiles | Iterable[Path | str],
        *,
        collection: str,
        groups: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
        prune: bool = False,
    ) -> IngestReport:
        """Ingest every supported file under ``files`` into ``collection``.

        Args:
            files: What :func:`~ingest.discovery.find_files` found (front ends call it before
                loading the embedder), or the files and folders to look in.
            collection: Target collection (created by its first commit).
            groups: Groups allowed to read these documents; empty means everyone.
            on_progress: Called after each file and each embedded batch.
            prune: Also remove documents under the paths whose files are gone (the paths
                themselves may be gone too).

        Raises:
            IngestError: A path does not exist, or a folder holds nothing to ingest (only
                when ``files`` are paths; :func:`~ingest.discovery.find_files` says why).

        """
        found = files if isinstance(files, FoundFiles) else find_files(files, allow_missing=prune)
        catalog = Catalog(collection, self._existing_documents(collection))
        candidates = found.to_ingest
        report = IngestReport(skipped=[str(c.path) for c in found.skipped])
        batch: list[_Pending] = []
        group_set = tuple(sorted(set(groups)))

        def notify(done: int, current: str) -> None:
            if on_progress is not None:
                on_progress(IngestProgress(done, len(candidates), report.chunks_embedded, current))

        # Figures are stored before the commit that refers to them: no image sweep meanwhile.
        with self.store.images.in_use():
            waiting: list[_ToChunk] = []
            for done, candidate in enumerate(candidates, start=1):
                outcome = self._prepare(candidate, catalog, group_set, report)
                if isinstance(outcome, FileFailure):
                    report.failed.append(outcome)
                elif outcome is None:
                    report.unchanged.append(str(candidate.source))
                else:
                    # The BM25 view will need Kiwi at the end; load it while files are embedded.
                    preload_kiwi()
                    if isinstance(outcome, _ToChunk):
                        waiting.append(outcome)
                        if sum(w.chars for w in waiting) >= CHUNK_BATCH_CHARS:
                            chunked = self._chunk(waiting, report)
                            batch = self._batched(batch, chunked, collection, report)
                            waiting = []
                    else:
                        batch = self._batched(batch, [outcome], collection, report)
                notify(done, str(candidate.source))
            batch = self._batched(batch, self._chunk(waiting, report), collection, report)
            self._flush(batch, collection, report)
            if prune:
                present = {str(c.source) for c in found.candidates}
                gone = catalog.gone_under(found.roots, present)
                if gone:
                    self.store.commit(collection, removals=[d.id for d in gone])
                    report.pruned.extend(d.source_path for d in gone)
        notify(len(candidates), "")
        if self._exists(collection):
            # Build and checkpoint the search views now, so the first query after it is fast.
            self.store.refresh(collection, self.embeddings.calibration.space)
            self.store.collect_garbage()  # images of replaced or pruned documents
        return report

    def _existing_documents(self, collection: str) -> list[DocumentRecord]:
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
        groups: tuple[str, ...],
        report: IngestReport,
    ) -> _Pending | _ToChunk | FileFailure | None:
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
            digest = hashlib.sha256(data)
            sidecar = ""
            if candidate.sidecar is not None:
                sidecar_bytes, sidecar = read_sidecar(candidate.sidecar)
                digest.update(b"\x00sidecar\x00" + sidecar_bytes)
            plain = digest.hexdigest()
            with_images = self._image_fingerprint(plain)
            doc_id, previous = catalog.match(source, candidate.key, (plain, with_images), groups)
            stat = path.stat()
            document = DocumentRecord(
                id=doc_id,
                collection=catalog.collection,
                source_path=str(source),
                content_sha256=plain,
                size=len(data),
                mtime=stat.st_mtime,
                groups=groups,
            )
            if previous is not None and previous.content_sha256 in (plain, with_images):
                if (previous.source_path, previous.groups) == (str(source), groups):
                    return None
                return self._recommit(previous, document)
            loaded = load(path, data, self.limits)
            report.notice(*loaded.run_notes)
            if sidecar:
                _caption_standalone(loaded, sidecar)
            return _ToChunk(document, loaded, with_images)
        except IngestError as error:
            return FileFailure.of(str(source), error)
        except OSError as error:
            return FileFailure(str(source), Message(error.strerror or str(error)))

    def _image_fingerprint(self, plain: str) -> str:
        """A document with images also records whether generator captions were made."""
        mode = "generated" if self.captioner is not None else "human"
        return hashlib.sha256(f"{plain}\x00captions={mode}".encode()).hexdigest()

    def _recommit(self, previous: DocumentRecord, document: DocumentRecord) -> _Pending:
        """An unchanged document under a new path or new groups: its stored chunks, as they are."""
        record = replace(
            previous, source_path=document.source_path, mtime=document.mtime, groups=document.groups
        )
        moved = previous.source_path if previous.source_path != document.source_path else None
        pending = _Pending(record, moved_from=moved)
        pending.reused = self.store.document_vectors(record.collection, record.id)
        for chunk in self.store.document_chunks(record.collection, record.id):
            draft = _Draft(
                chunk.text,
                chunk.page,
                chunk.tokens,
                chunk.kind,
                chunk.image_sha256,
                heading=chunk.heading,
            )
            pending.drafts[chunk.id] = draft
        return pending

    def _chunk(self, waiting: list[_ToChunk], report: IngestReport) -> list[_Pending]:
        """Chunk loaded documents together (they share tokenizer calls); failures to ``report``.

        Each document's chunks come lazily, so one that makes too many chunks stops being
        chunked (and tokenized) when it passes the limit, and the others go on.
        """
        open_: dict[int, tuple[_Pending, _Previous]] = {}
        streams = []
        for number, item in enumerate(waiting):
            try:
                open_[number] = self._start(item)
                streams.append(sections(item.loaded.blocks, structure=self.chunker.structure))
            except IngestError as error:
                report.failed.append(FileFailure.of(item.document.source_path, error))
                streams.append(iter(()))
        failed: set[int] = set()
        for number, piece in self.chunker.chunk_documents(streams):
            if number in failed:
                continue
            pending, previous = open_[number]
            try:
                if isinstance(piece, Figure):
                    self._add_figure(pending, piece, previous)
                else:
                    self._add(pending, previous, _draft(piece))
            except IngestError as error:
                failed.add(number)
                report.failed.append(FileFailure.of(pending.document.source_path, error))
                if failed.issuperset(open_):
                    break  # nothing left worth chunking
        ready = []
        for number, (pending, _) in open_.items():
            if number in failed:
                continue
            if not pending.drafts:
                empty = IngestError.because("no text to index after chunking")
                report.failed.append(FileFailure.of(pending.document.source_path, empty))
                continue
            if any(d.kind == "image" for d in pending.drafts.values()):
                pending.document = replace(
                    pending.document, content_sha256=waiting[number].with_images
                )
            ready.append(pending)
        return ready

    def _start(self, item: _ToChunk) -> tuple[_Pending, _Previous]:
        """A document's pending record and what the store holds for it.

        Raises:
            IngestError: Its words alone make more chunks than the limit.

        """
        document = item.document
        # Every word costs at least one token, so the word count bounds the chunks from below
        # and an enormous file fails here, before seconds of tokenizing and sentence splitting.
        blocks = item.loaded.blocks
        words = sum(len(b.text.split()) for b in blocks if isinstance(b, Segment))
        if words // self.chunker.chunk_tokens > self.limits.max_chunks_per_file:
            raise self._too_many_chunks()
        pending = _Pending(document, notes=list(dict.fromkeys(item.loaded.notes)))
        collection, doc_id = document.collection, document.id
        previous = _Previous(
            vectors=self.store.document_vectors(collection, doc_id),
            chunks={c.id: c for c in self.store.document_chunks(collection, doc_id)},
        )
        return pending, previous

    def _add(self, pending: _Pending, previous: _Previous, draft: _Draft, key: str = "") -> None:
        # Counted before identical chunks are dropped: the limit bounds the work, and a file of
        # one phrase repeated for megabytes makes few distinct chunks from a lot of text.
        pending.produced += 1
        if pending.produced > self.limits.max_chunks_per_file:
            raise self._too_many_chunks()
        cid = chunk_id(pending.document.id, draft.page, key or draft.identity)
        if cid in pending.drafts:
            return  # the same text twice on one page adds nothing to the index
        pending.drafts[cid] = draft
        if cid in previous.vectors:
            pending.reused[cid] = previous.vectors[cid]

    def _too_many_chunks(self) -> IngestError:
        return IngestError.because(
            "makes more than {limit:,} chunks (ingest.max_chunks_per_file): split the file or "
            "raise the limit",
            limit=self.limits.max_chunks_per_file,
        )

    def _add_figure(self, pending: _Pending, figure: Figure, previous: _Previous) -> None:
        human = [squash(c) for c in figure.captions if c.strip()]
        if not human and self.captioner is None and figure.fallback is None:
            return  # nothing describes it: a chunk without words cannot be found
        images = sum(1 for d in pending.drafts.values() if d.kind == "image")
        if images >= self.limits.max_images_per_file:
            note = Message.because(TOO_MANY_IMAGES, count=images)
            if note not in pending.notes:
                pending.notes.append(note)
            return
        sha = self.store.images.put(figure.image)
        mode = "generated" if self.captioner is not None else "human"
        key = "\x00".join(["image", sha, mode, *human])
        cid = chunk_id(pending.document.id, figure.page, key)
        stored = previous.chunks.get(cid)
        if stored is not None:  # same image, same captions: keep the caption text made before
            text, tokens = stored.text, stored.tokens
        else:
            generated = self.captioner.caption(figure.image) if self.captioner else []
            piece = self.chunker.truncate(caption_text(human, generated, figure.fallback))
            text, tokens = piece.text, piece.tokens
        self._add(pending, previous, _Draft(text, figure.page, tokens, "image", sha), key)

    # --- many files --------------------------------------------------------------------------

    def _batched(
        self,
        batch: list[_Pending],
        ready: list[_Pending],
        collection: str,
        report: IngestReport,
    ) -> list[_Pending]:
        """Add files to the batch, committing it whenever it holds ``batch_chunks`` new chunks.

        Files chunked together (small ones share tokenizer calls) still commit in batches of
        the configured size, so a crash costs at most one batch and memory stays bounded.
        """
        for pending in ready:
            batch.append(pending)
            if sum(len(p.new_chunk_ids()) for p in batch) >= self.batch_chunks:
                self._flush(batch, collection, report)
                batch = []
        return batch

    def _flush(self, batch: list[_Pending], collection: str, report: IngestReport) -> None:
        if not batch:
            return
        to_embed = [(pending, cid) for pending in batch for cid in pending.new_chunk_ids()]
        # Identical text (a copied file, a repeated disclaimer) is embedded once.
        drafts: dict[str, _Draft] = {}
        for pending, cid in to_embed:
            drafts.setdefault(pending.drafts[cid].identity, pending.drafts[cid])
        embedded = self.embeddings.encode_documents(
            [draft.embedded or draft.text for draft in drafts.values()],
            token_ids=[draft.token_ids for draft in drafts.values()],
        )
        vectors = dict(zip(drafts, embedded, strict=True))
        updates = [pending.update(vectors) for pending in batch]
        self.store.ensure_collection(collection, self.embeddings.name, self.embeddings.dimension)
        self.store.commit(collection, updates)
        for pending in batch:
            report.ingested.append(pending.document.source_path)
            report.details[pending.document.source_path] = pending.detail()
        report.chunks_embedded += len(to_embed)
        report.chunks_reused += sum(len(p.reused) for p in batch)


def _draft(chunk: TextChunk) -> _Draft:
    embedded = chunk.text if chunk.text != chunk.passage else None
    return _Draft(
        chunk.passage,
        chunk.page,
        chunk.tokens,
        embedded=embedded,
        token_ids=chunk.token_ids,
        heading=PATH_SEPARATOR.join(chunk.path),
    )


def _caption_standalone(loaded: Loaded, caption: str) -> None:
    """Put a sidecar caption on the image file's own figure."""
    for index, block in enumerate(loaded.blocks):
        if isinstance(block, Figure) and block.fallback is not None:
            loaded.blocks[index] = Figure(
                block.image, (caption, *block.captions), block.page, block.fallback
            )
