"""The audit trail: who was shown which documents, when, through which surface.

Every answered question (the command line's ``ask`` and ``chat``, the web app, the RAG API) and
every ``/v1/retrieve`` adds one entry: who (a person, a key's name, or the local user), when,
the collection, the question (kept, kept only as a hash, or not at all: ``[audit] questions``),
and the ids of the documents whose passages were shown or put in the prompt, as ``docs list``
names them. Changes of access (a document's groups, a key made or revoked, a change made on the
admin page) are entries too, and so are changes of the documents themselves that come from
outside: a document pushed or deleted through the RAG API (``document``), a source's sync that
changed its collection (``sync``). Entries live in the store, so many instances on one PostgreSQL
write one trail; entries older than ``[audit] retention_days`` are pruned as new ones arrive.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rag.errors import DiskFullError

if TYPE_CHECKING:
    from rag.access.registry import Registry
    from rag.config import Settings

Surface = Literal["cli", "web", "api", "retrieve", "mcp", "admin", "ingest", "sync"]
Action = Literal["answer", "retrieve", "access", "key", "person", "document", "sync", "open"]
QuestionPolicy = Literal["store", "hash", "none"]
# Old entries are pruned at most this often per process.
PRUNE_EVERY_S = 3600.0
DAY_S = 86_400.0
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who does something, and through which surface (what the trail records as ``who``)."""

    who: str
    surface: Surface


LOCAL = Actor("local", "cli")


@dataclass(frozen=True)
class AuditEntry:
    """One thing that happened.

    Attributes:
        time: When (Unix time).
        who: The person (email, else subject), the key's name, or ``cli:<user>``.
        surface: Where: ``cli``, ``web``, ``api``, ``retrieve``, ``mcp``, ``admin``, ``ingest``,
            ``sync``.
        action: ``answer``, ``retrieve``, ``access`` (a document's groups changed), ``key``,
            ``person``, ``document`` (pushed or deleted through the API), ``sync`` (a source's
            sync changed its collection), ``open`` (a source opened: its passage, its page, its
            original file).
        collection: The collection, when there is one.
        question: The question as asked, when the trail keeps questions.
        question_sha256: Its hash, when the trail keeps hashes (or questions).
        documents: Ids of the documents shown or put in the prompt (or changed).
        detail: What else there is to say (answered or not, latency, old and new groups).
        id: Its number in the trail (0 before it is stored).

    """

    time: float
    who: str
    surface: str
    action: str
    collection: str | None = None
    question: str | None = None
    question_sha256: str | None = None
    documents: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)
    id: int = 0

    def to_json(self) -> dict[str, Any]:
        """One line of ``bllossom-rag audit export``."""
        return {
            "id": self.id,
            "time": self.time,
            "who": self.who,
            "surface": self.surface,
            "action": self.action,
            "collection": self.collection,
            "question": self.question,
            "question_sha256": self.question_sha256,
            "documents": list(self.documents),
            "detail": dict(self.detail),
        }


def as_jsonl(entries: Iterable[AuditEntry]) -> str:
    """Entries as ``bllossom-rag audit export`` writes them: one JSON object a line."""
    return "".join(json.dumps(entry.to_json(), ensure_ascii=False) + "\n" for entry in entries)


def question_fields(question: str, policy: QuestionPolicy) -> tuple[str | None, str | None]:
    """What the trail keeps of a question under ``policy``: the text, and its hash."""
    if policy == "none":
        return None, None
    digest = hashlib.sha256(question.encode()).hexdigest()
    return (question if policy == "store" else None), digest


@dataclass
class AuditLog:
    """Writes entries to the store's trail under the settings' policy and prunes old ones.

    Args:
        registry: The store's trail.
        questions: What is kept of questions.
        retention_days: Entries older than this are pruned (0: kept forever).

    """

    registry: Registry
    questions: QuestionPolicy = "store"
    retention_days: float = 90.0
    _pruned_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answered(
        self,
        *,
        who: str,
        surface: Surface,
        collection: str,
        question: str,
        documents: Sequence[str],
        detail: Mapping[str, Any] | None = None,
        action: Action = "answer",
    ) -> None:
        """Record a question and the documents whose passages were shown for it."""
        kept, digest = question_fields(question, self.questions)
        self.record(
            AuditEntry(
                time=time.time(),
                who=who,
                surface=surface,
                action=action,
                collection=collection,
                documents=tuple(dict.fromkeys(documents)),
                question=kept,
                question_sha256=digest,
                detail=dict(detail or {}),
            )
        )

    def record(self, entry: AuditEntry) -> None:
        """Append ``entry``; prune what is past retention now and then.

        On a full disk the answer still goes out (reads work while the disk is full) and the
        entry goes to the log instead, as an error, whole.
        """
        try:
            self.registry.append_audit(entry)
        except DiskFullError as error:
            shown = json.dumps(entry.to_json(), ensure_ascii=False)
            logger.error("audit entry not stored (%s): %s", error, shown)
            return
        if self.retention_days <= 0:
            return
        now = time.time()
        with self._lock:
            if now - self._pruned_at < PRUNE_EVERY_S:
                return
            self._pruned_at = now
        with contextlib.suppress(DiskFullError):  # pruning waits for the next hour with space
            self.registry.prune_audit(now - self.retention_days * DAY_S)


def audit_log(settings: Settings, registry: Registry) -> AuditLog:
    """The trail of ``registry`` kept as the settings say (``[audit]``)."""
    return AuditLog(registry, settings.audit.questions, settings.audit.retention_days)
