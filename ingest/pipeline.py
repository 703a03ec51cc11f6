"""The ingestion pipeline: discover -> read -> check content -> load -> chunk -> embed -> commit.

Identity makes it incremental: a document's id is a hash of its resolved path, a chunk's id a
hash of its document, page and text (for an image: the stored image's hash and its human
captions). A file whose fingerprint (its bytes, its caption sidecar's bytes, and for documents
with images whether generator captions were asked for) and groups are unchanged is skipped
before it is parsed; a changed file is re-chunked and only chunks that are new are embedded
(the others reuse their stored vectors, and image chunks their stored captions, so the
generator is not asked twice). Embedding is batched across files (identical texts embedded
once), and each batch of documents is committed in one transaction, so a crash loses at most
one batch and a rerun finishes the job without duplicates.

Every file ends in exactly one of four lists: ingested, unchanged, failed (with one reason), or
skipped (found in a folder, of a type no loader reads).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ingest.captions import Captioner, caption_text, read_sidecar
from ingest.chunking import TextChunk, TokenChunker
from ingest.discovery import Candidate, discover, read_capped
from ingest.limits import Limits
from ingest.loaders import Figure, Loaded, Segment, load
from ingest.loaders.base import squash
from rag.config import Settings
from rag.display import plural
from rag.embeddings import SentenceTransformerEmbeddings
from rag.errors import IngestError
from rag.kiwi import preload as preload_kiwi
from rag.store import ChunkKind, DocumentRecord, DocumentUpdate, NewChunk, Store, StoredChunk

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

# New chunks gathered before one embedding call and one commit.
DEFAULT_BATCH_CHUNKS = 256


@dataclass(frozen=True)
class FileFailure:
    """A file that could not be ingested, and why."""

    path: str
    error: str


@dataclass
class IngestReport:
    """What happened to every file of one ingest run.

    ``details`` says, per ingested file, how many chunks and images it made and what was
    skipped inside it; ``pruned`` lists documents removed because their files are gone;
    ``skipped`` lists files found in folders whose type no loader reads.
    """

    ingested: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[FileFailure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    pruned: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` shape."""
        return {
            "ingested": self.ingested,
            "unchanged": self.unchanged,
            "failed": [{"path": f.path, "error": f.error} for f in self.failed],
            "skipped": self.skipped,
            "chunks_embedded": self.chunks_embedded,
        }

    def skipped_types(self) -> str:
        """The skipped files counted by type, most common first: ``.hwp 5, .xlsx 2``."""
        suffixes = Counter(Path(path).suffix.lower() or "(no suffix)" for path in self.skipped)
        return ", ".join(f"{suffix} {count}" for suffix, count in suffixes.most_common())


@dataclass(frozen=True)
class IngestProgress:
    """A progress snapshot, sent after each file and each embedded batch."""

    files_done: int
    files_total: int
    chunks_embedded: int
    current: str


ProgressCallback = Callable[[IngestProgress], None]


@dataclass(frozen=True)
class _Draft:
    text: str
    page: int | None
    tokens: int
    kind: ChunkKind = "text"
    image_sha256: str | None = None


@dataclass
class _Pending:
    """A parsed document waiting for its new chunks' vectors."""

    document: DocumentRecord
    drafts: dict[str, _Draft] = field(default_factory=dict)  # chunk id -> draft, reading order
    reused: dict[str, np.ndarray] = field(default_factory=dict)  # chunk id -> stored vector
    notes: list[str] = field(default_factory=list)

    def new_chunk_ids(self) -> list[str]:
        return [cid for cid in self.drafts if cid not in self.reused]

    def summary(self) -> str:
        images = sum(1 for d in self.drafts.values() if d.kind == "image")
        parts = [
            plural(len(self.drafts), "chunk") + (f" ({plural(images, 'image')})" if images else "")
        ]
        return "; ".join(parts + self.notes)


@dataclass
class _Previous:
    """What the store holds for a document being replaced: vectors and chunks by id."""

    vectors: dict[str, np.ndarray]
    chunks: dict[str, StoredChunk]


def document_id(path: Path) -> str:
    """Stable id of a document: a hash of its resolved path."""
    return hashlib.sha256(str(path).encode()).hexdigest()[:16]


def chunk_id(doc_id: str, page: int | None, text: str) -> str:
    """Content id of a chunk within its document."""
    key = f"{doc_id}\x00{page}\x00{text}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


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

    """

    def __init__(
        self,
        store: Store,
        embeddings: SentenceTransformerEmbeddings,
        *,
        chunk_tokens: int,
        chunk_overlap: int,
        max_file_bytes: int,
        limits: Limits | None = None,
        captioner: Captioner | None = None,
        batch_chunks: int = DEFAULT_BATCH_CHUNKS,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.chunker = TokenChunker(embeddings.tokenizer, chunk_tokens, chunk_overlap)
        self.max_file_bytes = max_file_bytes
        self.limits = limits or Limits()
        self.captioner = captioner
        self.batch_chunks = batch_chunks

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: Store,
        embeddings: SentenceTransformerEmbeddings,
        *,
        llm: BaseChatModel | None = None,
    ) -> Ingestor:
        """The ingestor every front end uses, configured from :class:`Settings`.

        Args:
            settings: The configuration.
            store: The store to write to.
            embeddings: The embedder.
            llm: The generator for captions when ``settings.caption_images`` is on; pass the
                assistant's to share a loaded model (else the configured one is built).

        """
        captioner = None
        if settings.caption_images:
            if llm is None:
                from rag.assistant import Assistant

                llm = Assistant(settings).llm
            captioner = Captioner(llm)
        return cls(
            store,
            embeddings,
            chunk_tokens=settings.chunk_tokens,
            chunk_overlap=settings.chunk_overlap,
            max_file_bytes=settings.max_file_bytes,
            limits=Limits.from_settings(settings),
            captioner=captioner,
            batch_chunks=settings.ingest_batch_chunks,
        )

    def ingest(
        self,
        paths: Iterable[Path | str],
        *,
        collection: str,
        groups: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
        prune: bool = False,
    ) -> IngestReport:
        """Ingest every supported file under ``paths`` into ``collection``.

        Args:
            paths: Files and folders.
            collection: Target collection (created on first use).
            groups: Groups allowed to read these documents; empty means everyone.
            on_progress: Called after each file and each embedded batch.
            prune: Also remove documents under ``paths`` whose files are gone.

        """
        paths = [Path(p).expanduser() for p in paths]
        self.store.ensure_collection(collection, self.embeddings.name, self.embeddings.dimension)
        found = list(discover(paths))
        candidates = [candidate for candidate in found if not candidate.skipped]
        report = IngestReport(skipped=[str(c.path) for c in found if c.skipped])
        batch: list[_Pending] = []
        group_set = tuple(sorted(set(groups)))

        def notify(done: int, current: str) -> None:
            if on_progress is not None:
                on_progress(IngestProgress(done, len(candidates), report.chunks_embedded, current))

        # Figures are stored before the commit that refers to them: no image sweep meanwhile.
        with self.store.images.in_use():
            for done, candidate in enumerate(candidates, start=1):
                outcome = self._prepare(candidate, collection, group_set)
                if isinstance(outcome, FileFailure):
                    report.failed.append(outcome)
                elif outcome is None:
                    report.unchanged.append(str(candidate.path))
                else:
                    # The BM25 view will need Kiwi at the end; load it while files are embedded.
                    preload_kiwi()
                    batch.append(outcome)
                    if sum(len(p.new_chunk_ids()) for p in batch) >= self.batch_chunks:
                        self._flush(batch, collection, report)
                        batch = []
                notify(done, str(candidate.path))
            self._flush(batch, collection, report)
            if prune:
                self._prune(paths, candidates, collection, report)
        notify(len(candidates), "")
        # Build and checkpoint the search views now, so the first query after an ingest is fast.
        self.store.refresh(collection)
        self.store.collect_garbage()  # images of replaced or pruned documents
        return report

    # --- one file ----------------------------------------------------------------------------

    def _prepare(
        self, candidate: Candidate, collection: str, groups: tuple[str, ...]
    ) -> _Pending | FileFailure | None:
        """Read, load and chunk one file; None when it is unchanged since the last ingest."""
        path = candidate.path
        if candidate.error is not None:
            return FileFailure(str(path), candidate.error)
        try:
            data = read_capped(path, self.max_file_bytes)
            digest = hashlib.sha256(data)
            sidecar = ""
            if candidate.sidecar is not None:
                sidecar_bytes, sidecar = read_sidecar(candidate.sidecar)
                digest.update(b"\x00sidecar\x00" + sidecar_bytes)
            plain = digest.hexdigest()
            with_images = self._image_fingerprint(plain)
            doc_id = document_id(path)
            previous = self.store.document(collection, doc_id)
            if (
                previous is not None
                and previous.groups == groups
                and previous.content_sha256 in (plain, with_images)
            ):
                return None
            loaded = load(path, data, self.limits)
            if sidecar:
                _caption_standalone(loaded, sidecar)
            stat = path.stat()
            document = DocumentRecord(
                id=doc_id,
                collection=collection,
                source_path=str(path),
                content_sha256=plain,
                size=len(data),
                mtime=stat.st_mtime,
                groups=groups,
            )
            return self._chunk(document, loaded, with_images)
        except IngestError as error:
            return FileFailure(str(path), str(error))
        except OSError as error:
            return FileFailure(str(path), error.strerror or str(error))

    def _image_fingerprint(self, plain: str) -> str:
        """A document with images also records whether generator captions were made."""
        mode = "generated" if self.captioner is not None else "human"
        return hashlib.sha256(f"{plain}\x00captions={mode}".encode()).hexdigest()

    def _chunk(self, document: DocumentRecord, loaded: Loaded, with_images: str) -> _Pending:
        pending = _Pending(document, notes=list(dict.fromkeys(loaded.notes)))
        database = self.store.database
        previous = _Previous(
            vectors=database.document_vectors(document.collection, document.id),
            chunks={c.id: c for c in database.document_chunks(document.collection, document.id)},
        )
        # Every word costs at least one token, so the word count bounds the chunks from below
        # and an enormous file fails here, before seconds of tokenizing and sentence splitting.
        words = sum(len(b.text.split()) for b in loaded.blocks if isinstance(b, Segment))
        if words // self.chunker.chunk_tokens > self.limits.max_chunks_per_file:
            raise IngestError(self._too_many_chunks())
        for block in loaded.blocks:
            if isinstance(block, Figure):
                self._add_figure(pending, block, previous)
                continue
            pieces: Iterable[TextChunk] = (
                self.chunker.split_table(block.text)
                if block.kind == "table"
                else self.chunker.iter_chunks(block.text)
            )
            for piece in pieces:
                self._add(pending, previous, _Draft(piece.text, block.page, piece.tokens))
        if not pending.drafts:
            msg = "no text to index after chunking"
            raise IngestError(msg)
        if any(d.kind == "image" for d in pending.drafts.values()):
            pending.document = replace(pending.document, content_sha256=with_images)
        return pending

    def _add(self, pending: _Pending, previous: _Previous, draft: _Draft, key: str = "") -> None:
        cid = chunk_id(pending.document.id, draft.page, key or draft.text)
        if cid in pending.drafts:
            return  # the same text twice on one page adds nothing to the index
        if len(pending.drafts) >= self.limits.max_chunks_per_file:
            raise IngestError(self._too_many_chunks())
        pending.drafts[cid] = draft
        if cid in previous.vectors:
            pending.reused[cid] = previous.vectors[cid]

    def _too_many_chunks(self) -> str:
        return (
            f"makes more than {self.limits.max_chunks_per_file:,} chunks "
            "(max_chunks_per_file): split the file or raise the limit"
        )

    def _add_figure(self, pending: _Pending, figure: Figure, previous: _Previous) -> None:
        human = [squash(c) for c in figure.captions if c.strip()]
        if not human and self.captioner is None and figure.fallback is None:
            return  # nothing describes it: a chunk without words cannot be found
        images = sum(1 for d in pending.drafts.values() if d.kind == "image")
        if images >= self.limits.max_images_per_file:
            note = f"skipped images after the first {images} (max_images_per_file)"
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

    def _flush(self, batch: list[_Pending], collection: str, report: IngestReport) -> None:
        if not batch:
            return
        to_embed = [(pending, cid) for pending in batch for cid in pending.new_chunk_ids()]
        # Identical text (a copied file, a repeated disclaimer) is embedded once.
        texts = list(dict.fromkeys(p.drafts[cid].text for p, cid in to_embed))
        vectors = dict(zip(texts, self.embeddings.encode_documents(texts), strict=True))
        updates = [
            DocumentUpdate(
                document=pending.document,
                chunks=[
                    NewChunk(
                        id=cid,
                        ordinal=ordinal,
                        text=draft.text,
                        tokens=draft.tokens,
                        page=draft.page,
                        kind=draft.kind,
                        image_sha256=draft.image_sha256,
                        vector=pending.reused.get(cid, vectors.get(draft.text)),
                    )
                    for ordinal, (cid, draft) in enumerate(pending.drafts.items())
                ],
            )
            for pending in batch
        ]
        self.store.commit(collection, updates)
        for pending in batch:
            report.ingested.append(pending.document.source_path)
            report.details[pending.document.source_path] = pending.summary()
        report.chunks_embedded += len(to_embed)
        report.chunks_reused += sum(len(p.reused) for p in batch)

    def _prune(
        self,
        paths: list[Path],
        candidates: list[Candidate],
        collection: str,
        report: IngestReport,
    ) -> None:
        """Remove documents under the given (existing) paths whose files were not found."""
        present = {str(c.path) for c in candidates}
        roots = [p.resolve() for p in paths if p.exists()]
        gone = [
            d
            for d in self.store.documents(collection)
            if d.source_path not in present and any(_under(d.source_path, r) for r in roots)
        ]
        if gone:
            self.store.commit(collection, removals=[d.id for d in gone])
            report.pruned.extend(d.source_path for d in gone)


def _caption_standalone(loaded: Loaded, caption: str) -> None:
    """Put a sidecar caption on the image file's own figure."""
    for index, block in enumerate(loaded.blocks):
        if isinstance(block, Figure) and block.fallback is not None:
            loaded.blocks[index] = Figure(
                block.image, (caption, *block.captions), block.page, block.fallback
            )


def _under(source_path: str, root: Path) -> bool:
    return source_path == str(root) or source_path.startswith(str(root).rstrip("/") + "/")
