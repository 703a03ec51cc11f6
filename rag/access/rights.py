"""Who may read what: the caller's groups, checked inside the search, never after it.

A document is either unrestricted (no groups) or readable by members of any of its groups.
An :class:`Access` travels with every query and every listing; the store turns it into a filter
that the index search itself applies, so a restricted chunk can never reach a prompt, a
reranker or a result list, even transiently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Access:
    """The reading rights of one caller.

    Attributes:
        groups: Groups the caller belongs to.
        everything: Operator access (the local CLI's ``docs`` commands): no filtering.

    """

    groups: frozenset[str] = frozenset()
    everything: bool = False

    @classmethod
    def for_groups(cls, groups: Iterable[str]) -> Access:
        """Access for a member of ``groups`` (blank names are ignored)."""
        return cls(groups=frozenset(g.strip() for g in groups if g.strip()))

    def can_read(self, document_groups: Iterable[str]) -> bool:
        """Whether a document restricted to ``document_groups`` is visible."""
        allowed = frozenset(document_groups)
        return self.everything or not allowed or bool(allowed & self.groups)


PUBLIC = Access()
OPERATOR = Access(everything=True)


def parse_groups(text: str) -> list[str]:
    """``"hr, legal"`` -> ``["hr", "legal"]`` (sorted, unique, blanks dropped)."""
    return sorted({part.strip() for part in text.split(",") if part.strip()})
