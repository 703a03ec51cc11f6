"""What a knowledge base is asked and cannot answer: the report for the people who run it.

Read from the audit trail (:mod:`rag.access.audit`: every answer on every surface, the command
line, the web app, the RAG API and ``/v1/retrieve``, with who, the collection, the question as
``[audit] questions`` keeps it, the documents shown, answered or not, seconds) and the web app's
ratings (:mod:`rag.evaluation.feedback`). For a period it counts the questions per day,
answered and not ("not in the documents"), groups the unanswered ones by similarity (the
knowledge gaps: what to write down next), lists the most and the never cited documents, the
thumbs up and down per collection, and the answers' latency (median and 95th percentile).

**Each viewer sees only what they may read.** A question counts for a viewer only when its
collection holds something they may read and every document it was shown is one they may read
now (a document removed since cannot be checked and hides the question from everyone but an
operator); a rating counts only when every source it was given is readable; the never-cited
list holds only readable documents. So the report never tells anyone what a restricted
document is asked about, nor that it exists.

**Grouping** is by words, not by a model: two unanswered questions are alike when their content
words (Kiwi morphemes and English words, less the words every question has: 어디, 언제,
what, the) overlap by Dice coefficient at least :data:`SIMILAR`; a group is every question
linked to another by that (single link). "내일 부산 날씨 어때요?" and "부산 날씨 알려 줘" share
부산 and 날씨 and land together; a question in the other language does not. When the trail
keeps only hashes of questions (``[audit] questions = "hash"``), identical questions group by
hash and show no text.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import numpy as np

from rag.access import OPERATOR, Access
from rag.access.audit import AuditEntry
from rag.evaluation.feedback import Feedback
from rag.store import DocumentRecord, DocumentStore
from rag.text.morphemes import tokenize_many

SIMILAR = 0.5
TOP_DOCUMENTS = 10
NEVER_CITED_LISTED = 100
QUESTION_ACTIONS = frozenset({"answer", "retrieve"})
# Words nearly every question has: they say nothing about what is asked.
_STOPWORDS = frozenset(
    {"어디", "언제", "무엇", "뭐", "누구", "얼마", "며칠", "어떻", "어떤", "있", "없", "하", "되"}
    | {"알리", "주", "좀", "수", "것", "거", "때", "몇", "왜", "이", "그", "저", "나", "저희"}
    | {"what", "when", "where", "who", "why", "how", "which", "is", "are", "was", "were", "be"}
    | {"do", "does", "did", "can", "could", "should", "would", "will", "the", "a", "an", "of"}
    | {"in", "on", "at", "to", "for", "from", "with", "about", "and", "or", "i", "me", "my"}
    | {"you", "your", "we", "our", "it", "its", "there", "this", "that", "tell", "please"}
)


@dataclass(frozen=True)
class QuestionGroup:
    """Unanswered questions that are alike.

    Attributes:
        questions: The distinct questions, the most asked first (hash-only trails: none).
        asked: How often any of them was asked.
        collections: Where they were asked.
        last_asked: The latest time (Unix time).

    """

    questions: tuple[str, ...]
    asked: int
    collections: tuple[str, ...]
    last_asked: float

    def to_json(self) -> dict[str, Any]:
        """The ``report --json`` shape of one group."""
        return {
            "questions": list(self.questions),
            "asked": self.asked,
            "collections": list(self.collections),
            "last_asked": self.last_asked,
        }


@dataclass(frozen=True)
class DocumentUse:
    """A document and how many answered questions were shown it."""

    collection: str
    document_id: str
    source: str
    cited: int

    @property
    def name(self) -> str:
        """Its file name."""
        return PurePath(self.source).name

    def to_json(self) -> dict[str, Any]:
        """The ``report --json`` shape."""
        return {
            "collection": self.collection,
            "document_id": self.document_id,
            "source": self.source,
            "cited": self.cited,
        }


@dataclass(frozen=True)
class DayCount:
    """The questions of one (local) day."""

    day: str
    asked: int
    answered: int


@dataclass(frozen=True)
class KnowledgeReport:
    """The report of one period, for one viewer (see the module docstring)."""

    since: float
    until: float
    asked: int = 0
    answered: int = 0
    days: tuple[DayCount, ...] = ()
    surfaces: Mapping[str, int] = field(default_factory=dict)
    unanswered: tuple[QuestionGroup, ...] = ()
    most_cited: tuple[DocumentUse, ...] = ()
    never_cited: tuple[DocumentUse, ...] = ()
    never_cited_count: int = 0
    feedback: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # (up, down)
    latency_p50: float | None = None
    latency_p95: float | None = None

    @property
    def not_answered(self) -> int:
        """Questions that got "not in the documents"."""
        return self.asked - self.answered

    def to_json(self) -> dict[str, Any]:
        """What ``bllossom-rag report --json`` prints."""
        return {
            "since": self.since,
            "until": self.until,
            "asked": self.asked,
            "answered": self.answered,
            "not_answered": self.not_answered,
            "per_day": [
                {"day": d.day, "asked": d.asked, "answered": d.answered} for d in self.days
            ],
            "surfaces": dict(self.surfaces),
            "unanswered": [group.to_json() for group in self.unanswered],
            "most_cited": [use.to_json() for use in self.most_cited],
            "never_cited": [use.to_json() for use in self.never_cited],
            "never_cited_count": self.never_cited_count,
            "feedback": {
                name: {"up": up, "down": down} for name, (up, down) in self.feedback.items()
            },
            "latency_s": {"p50": self.latency_p50, "p95": self.latency_p95},
        }


def knowledge_report(
    store: DocumentStore,
    ratings: Sequence[Feedback],
    access: Access,
    since: float,
    until: float | None = None,
) -> KnowledgeReport:
    """The report of ``[since, until]`` as ``access`` may see it.

    Args:
        store: Its audit trail and documents.
        ratings: The web app's thumbs (:meth:`rag.evaluation.feedback.FeedbackLog.entries`).
        access: The viewer's reading rights (:data:`~rag.access.OPERATOR`: everything).
        since: The period's start (Unix time).
        until: Its end (default: now).

    """
    until = time.time() if until is None else until
    readable = _Readable(store, access)
    entries = [
        entry
        for entry in store.audit_entries(since=since)
        if entry.time <= until
        and entry.action in QUESTION_ACTIONS
        and readable.entry(entry.collection, entry.documents)
    ]
    answered = [entry for entry in entries if entry.detail.get("answered")]
    seconds = [
        float(entry.detail["seconds"])
        for entry in entries
        if entry.action == "answer" and isinstance(entry.detail.get("seconds"), int | float)
    ]
    cited = Counter(
        (entry.collection or "", document_id)
        for entry in answered
        for document_id in dict.fromkeys(entry.documents)
    )
    uses = [
        DocumentUse(collection, document_id, readable.path(collection, document_id), count)
        for (collection, document_id), count in cited.most_common(TOP_DOCUMENTS)
    ]
    never = [
        DocumentUse(document.collection, document.id, document.source_path, 0)
        for document in readable.documents()
        if (document.collection, document.id) not in cited
    ]
    p50, p95 = (
        (float(np.percentile(seconds, 50)), float(np.percentile(seconds, 95)))
        if seconds
        else (None, None)
    )
    return KnowledgeReport(
        since=since,
        until=until,
        asked=len(entries),
        answered=len(answered),
        days=_per_day(entries),
        surfaces=dict(Counter(entry.surface for entry in entries).most_common()),
        unanswered=tuple(group_questions(e for e in entries if not e.detail.get("answered"))),
        most_cited=tuple(uses),
        never_cited=tuple(never[:NEVER_CITED_LISTED]),
        never_cited_count=len(never),
        feedback=_thumbs(ratings, readable, since, until),
        latency_p50=p50,
        latency_p95=p95,
    )


def group_questions(entries: Iterable[AuditEntry]) -> list[QuestionGroup]:
    """Unanswered questions grouped by the words they share (see the module docstring)."""
    asked: dict[str, list[AuditEntry]] = defaultdict(list)
    for entry in entries:
        key = entry.question or entry.question_sha256
        if key:
            asked[key].append(entry)
    keys = list(asked)
    texts = [key if asked[key][0].question else "" for key in keys]
    words = [frozenset(tokens) - _STOPWORDS for tokens in tokenize_many(texts)]
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(keys)):
        for j in range(i):
            shared = len(words[i] & words[j])
            if shared and 2 * shared / (len(words[i]) + len(words[j])) >= SIMILAR:
                parent[root(i)] = root(j)
    members: dict[int, list[str]] = defaultdict(list)
    for i, key in enumerate(keys):
        members[root(i)].append(key)
    groups = []
    for group in members.values():
        ordered = sorted(group, key=lambda key: (-len(asked[key]), key))
        all_entries = [entry for key in group for entry in asked[key]]
        groups.append(
            QuestionGroup(
                questions=tuple(key for key in ordered if asked[key][0].question),
                asked=len(all_entries),
                collections=tuple(sorted({e.collection or "" for e in all_entries})),
                last_asked=max(entry.time for entry in all_entries),
            )
        )
    return sorted(groups, key=lambda g: (-g.asked, -g.last_asked))


class _Readable:
    """What one viewer may read, looked up once per collection."""

    def __init__(self, store: DocumentStore, access: Access) -> None:
        self.access = access
        self.names = {info.name for info in store.collections(access) if info.documents}
        self.held: dict[str, dict[str, DocumentRecord]] = {
            name: {d.id: d for d in store.documents(name, OPERATOR)} for name in self.names
        }

    def entry(self, collection: str | None, documents: Sequence[str]) -> bool:
        if self.access.everything:
            return True
        if collection not in self.names:
            return False
        held = self.held[collection]
        return all(d in held and self.access.can_read(held[d].groups) for d in documents)

    def path(self, collection: str, document_id: str) -> str:
        found = self.held.get(collection, {}).get(document_id)
        return found.source_path if found else ""

    def documents(self) -> list[DocumentRecord]:
        held = [d for documents in self.held.values() for d in documents.values()]
        readable = [d for d in held if self.access.can_read(d.groups)]
        return sorted(readable, key=lambda d: (d.collection, d.source_path))

    def sources(self, collection: str, paths: Iterable[str]) -> bool:
        if self.access.everything:
            return True
        if collection not in self.names:
            return False
        by_path = {d.source_path: d for d in self.held[collection].values()}
        return all(p in by_path and self.access.can_read(by_path[p].groups) for p in paths)


def _per_day(entries: Sequence[AuditEntry]) -> tuple[DayCount, ...]:
    days: dict[str, list[AuditEntry]] = defaultdict(list)
    for entry in entries:
        days[dt.datetime.fromtimestamp(entry.time).date().isoformat()].append(entry)
    return tuple(
        DayCount(day, len(found), sum(bool(e.detail.get("answered")) for e in found))
        for day, found in sorted(days.items())
    )


def _thumbs(
    ratings: Sequence[Feedback], readable: _Readable, since: float, until: float
) -> dict[str, tuple[int, int]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for rating in ratings:
        paths = [str(source.get("source", "")) for source in rating.sources]
        if since <= rating.at <= until and readable.sources(rating.collection, paths):
            counts[rating.collection][0 if rating.rating > 0 else 1] += 1
    return {name: (up, down) for name, (up, down) in sorted(counts.items())}
