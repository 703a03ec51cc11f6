"""Copying a store into another (embedded into PostgreSQL, or back) without re-embedding.

Every collection is recreated with its embedder's name and size, and every document with its
chunks, their stored vectors, groups, metadata and images, in commits of a bounded size, so a
million chunks never sit in memory at once and an interrupted copy keeps what it committed.
Copying again is idempotent: a document the target already holds unchanged (same content
hash, path, groups, metadata and chunk count) is skipped, a changed one is replaced. At the end
every source document is checked in the target, chunk counts included; anything else is a
:class:`StoreError` naming the collection and what differs.

What the store keeps about access comes along (:func:`copy_registry`): API keys (their hashes:
a key keeps working against the target, and one revoked stays revoked), the people seen, and
the audit trail's entries newer than the target's newest, so copying again adds none twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.errors import StoreError
from rag.store.base import DocumentStore
from rag.store.image_files import EncodedImage
from rag.store.records import DocumentRecord, DocumentUpdate

# New chunks per target commit: large enough for fast bulk writes, small enough for memory.
COPY_BATCH_CHUNKS = 2_000


@dataclass
class CollectionCopy:
    """What copying one collection did."""

    name: str
    documents: int = 0  # source documents, all present in the target afterwards
    copied: int = 0  # of which written now (new or changed)
    chunks: int = 0
    images: int = 0  # stored images the copied chunks refer to, copied before them
    missing_images: int = 0  # of which the source had no file (the chunks keep their captions)


def copy_store(
    source: DocumentStore,
    target: DocumentStore,
    progress: Callable[[int], None] = lambda chunks: None,
    batch_chunks: int = COPY_BATCH_CHUNKS,
) -> list[CollectionCopy]:
    """Copy every collection of ``source`` into ``target``.

    Args:
        source: The store to read.
        target: The store to write (collections are created as needed).
        progress: Called with the number of chunks handled since its last call.
        batch_chunks: New chunks per commit.

    Raises:
        EmbeddingMismatchError: A target collection of the same name has another vector size.
        StoreError: The target does not hold every source document afterwards.

    """
    copies = []
    with target.images.in_use():  # images go in before the commits that refer to them
        for info in source.collections():
            target.ensure_collection(info.name, info.embedding_model, info.dimension)
            done = CollectionCopy(info.name)
            present = {d.id: d for d in target.documents(info.name)}
            pending: list[DocumentUpdate] = []
            for update in _changed(source, info.name, present, done, progress):
                pending.append(update)
                if sum(len(u.chunks) for u in pending) >= batch_chunks:
                    _write(source, target, done, pending, progress)
            _write(source, target, done, pending, progress)
            target.refresh(info.name)
            _verify(source, target, info.name)
            copies.append(done)
    return copies


@dataclass(frozen=True)
class RegistryCopy:
    """What copying the keys, people and audit trail did."""

    keys: int  # copied now (a key whose name the target holds is left as it is)
    people: int
    audit_entries: int


def copy_registry(source: DocumentStore, target: DocumentStore) -> RegistryCopy:
    """Copy API keys (by name), people, and the audit entries the target does not have yet."""
    held = {key.name for key in target.api_keys()}
    keys = sum(target.add_key(key) for key in source.api_keys() if key.name not in held)
    people = source.people()
    for person in people:
        target.see_person(person)
    newest = max((entry.time for entry in target.audit_entries(limit=1)), default=None)
    entries = [e for e in source.audit_entries() if newest is None or e.time > newest]
    for entry in entries:
        target.append_audit(entry)
    return RegistryCopy(keys, len(people), len(entries))


def _changed(
    source: DocumentStore,
    collection: str,
    present: dict[str, DocumentRecord],
    done: CollectionCopy,
    progress: Callable[[int], None],
) -> Iterator[DocumentUpdate]:
    """The source documents the target lacks or holds differently, with vectors and images."""
    for document in source.documents(collection):
        done.documents += 1
        done.chunks += document.chunks
        if _same(present.get(document.id), document):
            progress(document.chunks)
            continue
        done.copied += 1
        yield source.stored_update(collection, document)


def _write(
    source: DocumentStore,
    target: DocumentStore,
    done: CollectionCopy,
    pending: list[DocumentUpdate],
    progress: Callable[[int], None],
) -> None:
    """Copy the images ``pending`` refers to, then commit it (and empty it)."""
    if not pending:
        return
    hashes = {c.image_sha256 for u in pending for c in u.chunks if c.image_sha256}
    done.images += len(hashes)
    done.missing_images += _copy_images(source, target, hashes)
    target.commit(done.name, pending)
    progress(sum(len(u.chunks) for u in pending))
    pending.clear()


def _copy_images(source: DocumentStore, target: DocumentStore, hashes: set[str]) -> int:
    """Copy stored images as they are (their names stay their hashes); return how many lack."""
    missing = 0
    for sha256 in sorted(hashes):
        try:
            png = Path(source.images.path(sha256)).read_bytes()
            thumbnail = Path(source.images.thumbnail_path(sha256)).read_bytes()
        except OSError:
            missing += 1
            continue
        target.images.save(EncodedImage(sha256, png, thumbnail))
    return missing


def _same(held: DocumentRecord | None, document: DocumentRecord) -> bool:
    return (
        held is not None
        and held.content_sha256 == document.content_sha256
        and held.source_path == document.source_path
        and sorted(held.groups) == sorted(document.groups)
        and (held.groups_origin, held.groups_rule) == (document.groups_origin, document.groups_rule)
        and dict(held.metadata) == dict(document.metadata)
        and held.chunks == document.chunks
        and held.size == document.size
        and held.mtime == document.mtime
    )


def _verify(source: DocumentStore, target: DocumentStore, collection: str) -> None:
    held = {d.id: d.chunks for d in target.documents(collection)}
    wrong = [d.id for d in source.documents(collection) if held.get(d.id) != d.chunks]
    if wrong:
        msg = (
            f"collection {collection!r}: after the copy, {len(wrong)} documents are missing or "
            f"incomplete in the target (first: {wrong[0]!r}); run the copy again"
        )
        raise StoreError(msg)
