"""A loaded document assembled into its chunks, reusing what the store already holds.

The ingestion pipeline (:mod:`ingest.pipeline`) reads and loads files; this turns them into
:class:`PendingDocument` s: every chunk in reading order with its id, the vectors of chunks the
store already holds (a changed file re-embeds only its new chunks, and an image keeps the
caption the generator gave it before), and the notes on what was left out. Chunks are made by
the :class:`~ingest.chunking.chunker.TokenChunker` for many documents at once (they share
tokenizer calls), and a document that makes more chunks than the limit fails alone, as soon as
it passes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from ingest.captions import Captioner, caption_text
from ingest.chunking.chunker import PATH_SEPARATOR, TokenChunker
from ingest.chunking.outline import sections
from ingest.chunking.spans import TextChunk
from ingest.extractors.nearby import TOO_MANY_IMAGES
from ingest.file_limits import Limits
from ingest.groups import GroupChange
from ingest.identity import chunk_id
from ingest.loaders import Figure, Loaded, Segment
from ingest.loaders.base import squash
from ingest.report import FileDetail, FileFailure, IngestReport
from rag.errors import IngestError, Message
from rag.store import (
    ChunkKind,
    DocumentRecord,
    DocumentStore,
    DocumentUpdate,
    NewChunk,
    PageLayout,
    StoredChunk,
)
from rag.text import headings


@dataclass(frozen=True)
class Draft:
    """A chunk before its vector: what will be stored, and what is embedded for it."""

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
class PendingDocument:
    """A document waiting for its new chunks' vectors."""

    document: DocumentRecord
    drafts: dict[str, Draft] = field(default_factory=dict)  # chunk id -> draft, reading order
    reused: dict[str, np.ndarray] = field(default_factory=dict)  # chunk id -> stored vector
    notes: list[Message] = field(default_factory=list)
    moved_from: str | None = None
    produced: int = 0  # chunks made, identical ones included: the work done, bounded
    groups_before: tuple[str, ...] | None = None  # the stored document's, when it replaces one
    layouts: tuple[PageLayout, ...] = ()  # where its pages' words are (PDF)

    def group_change(self) -> GroupChange | None:
        """How committing it changes who may read a stored document, if it does."""
        document = self.document
        if self.groups_before is None or self.groups_before == document.groups:
            return None
        return GroupChange(
            document.source_path,
            document.id,
            self.groups_before,
            document.groups,
            document.groups_origin,
            document.groups_rule,
        )

    def new_chunk_ids(self) -> list[str]:
        """The chunks whose vectors are still to be made (the others reuse stored ones)."""
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
        return DocumentUpdate(self.document, chunks, self.layouts)

    def detail(self) -> FileDetail:
        """What the ingest summary says about the document."""
        images = sum(1 for d in self.drafts.values() if d.kind == "image")
        return FileDetail(len(self.drafts), images, tuple(self.notes), self.moved_from)


@dataclass
class StoredVersion:
    """What the store holds for a document being replaced: vectors and chunks by id."""

    vectors: dict[str, np.ndarray]
    chunks: dict[str, StoredChunk]


@dataclass
class LoadedDocument:
    """A loaded document waiting to be chunked with others."""

    document: DocumentRecord
    loaded: Loaded
    with_images: str
    previous: DocumentRecord | None = None  # the stored document it replaces

    @property
    def chars(self) -> int:
        """The length of its text (what groups documents into one chunking pass)."""
        return sum(len(b.text) for b in self.loaded.blocks if isinstance(b, Segment))


class ChunkAssembler:
    """Makes the pending documents of one ingest run.

    Args:
        store: Where earlier versions of the documents (their chunks and vectors) are read.
        chunker: Cuts the documents into chunks.
        limits: The per-file limits (chunks, images).
        captioner: Adds generator captions to images; None uses human captions only.

    """

    def __init__(
        self,
        store: DocumentStore,
        chunker: TokenChunker,
        limits: Limits,
        captioner: Captioner | None,
    ) -> None:
        self.store = store
        self.chunker = chunker
        self.limits = limits
        self.captioner = captioner

    def recommit(self, previous: DocumentRecord, document: DocumentRecord) -> PendingDocument:
        """An unchanged document under a new path or new groups: its stored chunks, as they are."""
        record = replace(
            previous,
            source_path=document.source_path,
            mtime=document.mtime,
            groups=document.groups,
            groups_origin=document.groups_origin,
            groups_rule=document.groups_rule,
            relative_path=document.relative_path,
        )
        moved = previous.source_path if previous.source_path != document.source_path else None
        pending = PendingDocument(
            record,
            moved_from=moved,
            groups_before=previous.groups,
            layouts=tuple(self.store.page_layouts(record.collection, record.id)),
        )
        pending.reused = self.store.document_vectors(record.collection, record.id)
        for chunk in self.store.document_chunks(record.collection, record.id):
            draft = Draft(
                chunk.text,
                chunk.page,
                chunk.tokens,
                chunk.kind,
                chunk.image_sha256,
                heading=chunk.heading,
            )
            pending.drafts[chunk.id] = draft
        return pending

    def chunk(self, waiting: list[LoadedDocument], report: IngestReport) -> list[PendingDocument]:
        """Chunk loaded documents together (they share tokenizer calls); failures to ``report``.

        Each document's chunks come lazily, so one that makes too many chunks stops being
        chunked (and tokenized) when it passes the limit, and the others go on.
        """
        open_: dict[int, tuple[PendingDocument, StoredVersion]] = {}
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
                    self._add(pending, previous, draft_of(piece))
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

    def _start(self, item: LoadedDocument) -> tuple[PendingDocument, StoredVersion]:
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
        pending = PendingDocument(
            document,
            notes=list(dict.fromkeys(item.loaded.notes)),
            groups_before=None if item.previous is None else item.previous.groups,
            layouts=tuple(item.loaded.layouts),
        )
        collection, doc_id = document.collection, document.id
        previous = StoredVersion(
            vectors=self.store.document_vectors(collection, doc_id),
            chunks={c.id: c for c in self.store.document_chunks(collection, doc_id)},
        )
        return pending, previous

    def _add(
        self, pending: PendingDocument, previous: StoredVersion, draft: Draft, key: str = ""
    ) -> None:
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

    def _add_figure(
        self, pending: PendingDocument, figure: Figure, previous: StoredVersion
    ) -> None:
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
        self._add(pending, previous, Draft(text, figure.page, tokens, "image", sha), key)


def draft_of(chunk: TextChunk) -> Draft:
    """The draft of a text chunk: its passage stored apart from its heading path."""
    embedded = chunk.text if chunk.text != chunk.passage else None
    return Draft(
        chunk.passage,
        chunk.page,
        chunk.tokens,
        embedded=embedded,
        token_ids=chunk.token_ids,
        heading=PATH_SEPARATOR.join(chunk.path),
    )
