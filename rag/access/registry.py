"""What the store keeps about access itself: API keys, the people seen, the audit trail.

Both store backends implement it (:class:`rag.store.DocumentStore` is one), in their own
database, so keys, people and the trail are shared by every instance of a PostgreSQL store and
survive like the documents do.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.access.audit import AuditEntry
    from rag.access.keys import ApiKey
    from rag.access.people import Person


class Registry(ABC):
    """API keys (as hashes), people, and the audit trail."""

    # --- keys --------------------------------------------------------------------------------

    @abstractmethod
    def add_key(self, key: ApiKey) -> bool:
        """Store a new key; False (nothing stored) when its name is taken."""

    @abstractmethod
    def api_keys(self) -> list[ApiKey]:
        """Every key, revoked ones included, by name."""

    @abstractmethod
    def key_by_digest(self, digest: str) -> ApiKey | None:
        """The key with this hash, or None."""

    @abstractmethod
    def revoke_key(self, name: str, when: float) -> bool:
        """Revoke a working key; False when there is none by that name."""

    @abstractmethod
    def touch_key(self, name: str, when: float) -> None:
        """Record a key's use."""

    # --- people ------------------------------------------------------------------------------

    @abstractmethod
    def see_person(self, person: Person) -> None:
        """Record a sign-in: new people are added, known ones get their groups and last visit."""

    @abstractmethod
    def people(self) -> list[Person]:
        """Everyone seen, most recent first."""

    # --- audit trail -------------------------------------------------------------------------

    @abstractmethod
    def append_audit(self, entry: AuditEntry) -> None:
        """Add an entry to the trail."""

    @abstractmethod
    def audit_entries(
        self, since: float = 0.0, who: str | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        """Entries from ``since`` on, oldest first.

        ``who`` keeps only that caller's; ``limit`` keeps the newest that many.
        """

    @abstractmethod
    def prune_audit(self, before: float) -> int:
        """Delete entries older than ``before``; how many went."""
