"""The ingestion pipeline: discover -> read -> load -> chunk -> embed -> commit.

Identity makes it incremental: a document's id is a hash of its resolved path, a chunk's id a
hash of its document, page and text. A file whose bytes (and groups) are unchanged is skipped
before it is even parsed; a changed file is re-chunked and only chunks whose text is new are
embedded (the others reuse their stored vectors). Embedding is batched across files, and each
batch of documents is committed in one transaction, so a crash loses at most one batch and a
rerun finishes the job without duplicates.

Every file ends in exactly one of three lists: ingested, unchanged, failed (with one reason).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.chunking import TokenChunker
from ingest.discovery import Candidate, discover, read_capped
from ingest.loaders import SUPPORTED_SUFFIXES, load
from rag.config import Settings
from rag.embeddings import SentenceTransformerEmbeddings
from rag.errors import IngestError
from rag.store import DocumentRecord, DocumentUpdate, NewChunk, Store

# New chunks gathered before one embedding call and one commit.
DEFAULT_BATCH_CHUNKS = 256


@dataclass(frozen=True)
class FileFailure:
    """A file that could not be ingested, and why."""

    path: str
    error: str


@dataclass
class IngestReport:
    """What happened to every file of one ingest run."""

    ingested: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[FileFailure] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` shape."""
        return {
            "ingested": self.ingested,
            "unchanged": self.unchanged,
            "failed": [{"path": f.path, "error": f.error} for f in self.failed],
            "chunks_embedded": self.chunks_embedded,
        }


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


@dataclass
class _Pending:
    """A parsed document waiting for its new chunks' vectors."""

    document: DocumentRecord
    drafts: dict[str, _Draft] = field(default_factory=dict)  # chunk id -> draft, reading order
    reused: dict[str, np.ndarray] = field(default_factory=dict)  # chunk id -> stored vector

    def new_chunk_ids(self) -> list[str]:
        return [cid for cid in self.drafts if cid not in self.reused]


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
        batch_chunks: int = DEFAULT_BATCH_CHUNKS,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.chunker = TokenChunker(embeddings.tokenizer, chunk_tokens, chunk_overlap)
        self.max_file_bytes = max_file_bytes
        self.batch_chunks = batch_chunks

    @classmethod
    def from_settings(
        cls, settings: Settings, store: Store, embeddings: SentenceTransformerEmbeddings
    ) -> Ingestor:
        """The ingestor every front end uses, configured from :class:`Settings`."""
        return cls(
            store,
            embeddings,
            chunk_tokens=settings.chunk_tokens,
            chunk_overlap=settings.chunk_overlap,
            max_file_bytes=settings.max_file_bytes,
        )

    def ingest(
        self,
        paths: Iterable[Path],
        *,
        collection: str,
        groups: Sequence[str] = (),
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Ingest every supported file under ``paths`` into ``collection``.

        Args:
            paths: Files and folders.
            collection: Target collection (created on first use).
            groups: Groups allowed to read these documents; empty means everyone.
            on_progress: Called after each file and each embedded batch.

        """
        self.store.ensure_collection(collection, self.embeddings.name, self.embeddings.dimension)
        candidates = list(discover(paths, SUPPORTED_SUFFIXES))
        report = IngestReport()
        batch: list[_Pending] = []
        group_set = tuple(sorted(set(groups)))

        def notify(done: int, current: str) -> None:
            if on_progress is not None:
                on_progress(IngestProgress(done, len(candidates), report.chunks_embedded, current))

        for done, candidate in enumerate(candidates, start=1):
            outcome = self._prepare(candidate, collection, group_set)
            if isinstance(outcome, FileFailure):
                report.failed.append(outcome)
            elif outcome is None:
                report.unchanged.append(str(candidate.path))
            else:
                batch.append(outcome)
                if sum(len(p.new_chunk_ids()) for p in batch) >= self.batch_chunks:
                    self._flush(batch, collection, report)
                    batch = []
            notify(done, str(candidate.path))
        self._flush(batch, collection, report)
        notify(len(candidates), "")
        # Checkpoint the FAISS view now, so the first query after an ingest opens fast.
        self.store.dense_view(collection)
        self.store.flush()
        return report

    def _prepare(
        self, candidate: Candidate, collection: str, groups: tuple[str, ...]
    ) -> _Pending | FileFailure | None:
        """Read and chunk one file; None when it is unchanged since the last ingest."""
        path = candidate.path
        if candidate.error is not None:
            return FileFailure(str(path), candidate.error)
        try:
            data = read_capped(path, self.max_file_bytes)
            digest = hashlib.sha256(data).hexdigest()
            doc_id = document_id(path)
            previous = self.store.document(collection, doc_id)
            if previous and previous.content_sha256 == digest and previous.groups == groups:
                return None
            stat = path.stat()
            document = DocumentRecord(
                id=doc_id,
                collection=collection,
                source_path=str(path),
                content_sha256=digest,
                size=len(data),
                mtime=stat.st_mtime,
                groups=groups,
            )
            return self._chunk(document, path, data)
        except IngestError as error:
            return FileFailure(str(path), str(error))
        except OSError as error:
            return FileFailure(str(path), error.strerror or str(error))

    def _chunk(self, document: DocumentRecord, path: Path, data: bytes) -> _Pending:
        pending = _Pending(document)
        existing = self.store.database.document_vectors(document.collection, document.id)
        for segment in load(path, data):
            for piece in self.chunker.split(segment.text):
                cid = chunk_id(document.id, segment.page, piece.text)
                # setdefault: the same text twice on one page adds nothing to the index
                pending.drafts.setdefault(cid, _Draft(piece.text, segment.page, piece.tokens))
                if cid in existing:
                    pending.reused[cid] = existing[cid]
        if not pending.drafts:
            msg = "no text to index after chunking"
            raise IngestError(msg)
        return pending

    def _flush(self, batch: list[_Pending], collection: str, report: IngestReport) -> None:
        if not batch:
            return
        to_embed = [(pending, cid) for pending in batch for cid in pending.new_chunk_ids()]
        vectors = self.embeddings.encode_documents([p.drafts[cid].text for p, cid in to_embed])
        fresh = {cid: vector for (_, cid), vector in zip(to_embed, vectors, strict=True)}
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
                        vector=pending.reused[cid] if cid in pending.reused else fresh[cid],
                    )
                    for ordinal, (cid, draft) in enumerate(pending.drafts.items())
                ],
            )
            for pending in batch
        ]
        self.store.commit(collection, updates)
        report.ingested.extend(p.document.source_path for p in batch)
        report.chunks_embedded += len(to_embed)
        report.chunks_reused += sum(len(p.reused) for p in batch)
