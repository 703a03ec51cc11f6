"""Which groups a document gets when it is ingested: never wider than before, unless asked.

Three things can decide, in this order:

1. an explicit setting for this run (``ingest --groups``, an upload's or a push's choice):
   the documents it ingests get exactly those groups, recorded as set explicitly (``flag``);
2. an explicit setting made before (``--groups`` then, or ``docs access``): kept, whatever the
   rules say, until someone sets it explicitly again;
3. the first access rule whose path matches (:mod:`rag.access.rules`), recorded with the rule.

When none of them speaks, a document keeps the groups it has, and a new one is public. So a
routine re-ingest of a parent folder never makes a restricted file public: its groups can only
change by a rule or by an explicit setting, and every change is reported (:class:`GroupChange`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.access.audit import Actor, AuditEntry
from rag.access.rules import AccessRule, first_match
from rag.store import DocumentRecord
from rag.store.records import GroupsOrigin


@dataclass(frozen=True)
class GroupChoice:
    """A document's groups and where they came from."""

    groups: tuple[str, ...]
    origin: GroupsOrigin
    rule: str | None = None

    @classmethod
    def of(cls, document: DocumentRecord) -> GroupChoice:
        """What a stored document has."""
        return cls(document.groups, document.groups_origin, document.groups_rule)


PUBLIC_BY_DEFAULT = GroupChoice((), "none")


@dataclass(frozen=True)
class GroupChange:
    """A stored document whose groups an ingest changed (shown and recorded, never silent)."""

    path: str
    document_id: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    origin: GroupsOrigin
    rule: str | None = None

    def audit_entry(self, actor: Actor, collection: str) -> AuditEntry:
        """The change as the audit trail records it."""
        return AuditEntry(
            time=time.time(),
            who=actor.who,
            surface=actor.surface,
            action="access",
            collection=collection,
            documents=(self.document_id,),
            detail=self.to_json(),
        )

    def to_json(self) -> dict[str, object]:
        """Its entry in ``ingest --json``'s ``access_changes``."""
        return {
            "path": self.path,
            "id": self.document_id,
            "before": list(self.before),
            "after": list(self.after),
            "origin": self.origin,
            "rule": self.rule,
        }


class GroupPolicy:
    """The groups of the documents of one ingest run.

    Args:
        rules: The configured access rules, in order.
        explicit: This run's explicit groups (``--groups``); None when it sets none.

    """

    def __init__(
        self, rules: Sequence[AccessRule] = (), explicit: Sequence[str] | None = None
    ) -> None:
        self.rules = tuple(rules)
        self.explicit = (
            None if explicit is None else GroupChoice(tuple(sorted(set(explicit))), "flag")
        )

    def requested(self, key: str, source: Path) -> GroupChoice | None:
        """What this run asks for a file (flag, else its rule), before its document is known."""
        if self.explicit is not None:
            return self.explicit
        rule = first_match(self.rules, key, str(source))
        return None if rule is None else GroupChoice(rule.groups, "rule", rule.path)

    def settle(self, requested: GroupChoice | None, previous: DocumentRecord | None) -> GroupChoice:
        """The groups a file's document gets, given what it had (see the module docstring)."""
        if requested is not None and requested.origin == "flag":
            return requested
        if previous is not None and previous.groups_origin == "flag":
            return GroupChoice.of(previous)
        if requested is not None:
            return requested
        return PUBLIC_BY_DEFAULT if previous is None else GroupChoice.of(previous)
