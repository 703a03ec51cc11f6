"""Example questions for an empty chat, drawn from the collection's own documents.

No model writes them: each is a fixed question about one document's first section heading
(``대출 기간에 대해 알려 주세요``) or, when the document has none, about the document itself
(``도서관 규정의 주요 내용은 무엇인가요?``). The same store gives the same examples, in the
order of the documents' paths, so the page does not change on every run; only documents the
user may read are looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag.access import Access
from rag.store import DocumentStore

EXAMPLES = 4
# The documents looked at at most: the examples of a big collection cost a few small reads.
DOCUMENTS_LOOKED_AT = 24
TOPIC_CHARS = 40


@dataclass(frozen=True)
class Topic:
    """What an example question asks about: a section heading, or a whole document's name."""

    text: str
    heading: bool


def example_topics(
    store: DocumentStore, collection: str, access: Access, limit: int = EXAMPLES
) -> list[Topic]:
    """Up to ``limit`` topics, one per document, from the documents ``access`` may read."""
    documents = sorted(store.documents(collection, access), key=lambda d: d.source_path)
    topics: list[Topic] = []
    seen: set[str] = set()
    for document in documents[:DOCUMENTS_LOOKED_AT]:
        topic = _topic(store, collection, document.id, document.source_path)
        if topic.text and topic.text not in seen:
            seen.add(topic.text)
            topics.append(topic)
        if len(topics) == limit:
            break
    return topics


def _topic(store: DocumentStore, collection: str, document_id: str, source_path: str) -> Topic:
    """The document's first heading (the deepest part of its path), else its file name."""
    for chunk in store.document_chunks(collection, document_id):
        heading = chunk.heading.rpartition(">")[2].strip().lstrip("#").strip()
        if heading and len(heading) <= TOPIC_CHARS:
            return Topic(heading, heading=True)
    return Topic(Path(source_path).stem[:TOPIC_CHARS].strip(), heading=False)
