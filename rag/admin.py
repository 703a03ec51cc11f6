"""Changes of who may read what, each one recorded: the command line and the admin page share them.

A document's groups set by hand, an API key made or revoked: :class:`AccessAdmin` makes the
change in the store and adds an entry to the audit trail naming who made it and through which
surface, so ``bllossom-rag docs access`` and the web app's admin page cannot drift apart and
neither can change access without a record.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.access.audit import Action, Actor, AuditEntry, AuditLog
from rag.access.keys import ApiKey, Scope, key_digest, new_key
from rag.errors import BllossomRagError
from rag.store import DocumentRecord, DocumentStore


@dataclass(frozen=True)
class GroupChange:
    """A document whose groups were set: what they were and what they are."""

    document: DocumentRecord
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True)
class IssuedKey:
    """A key just made: the record the store keeps and the key itself, shown this once."""

    record: ApiKey
    key: str


@dataclass(frozen=True)
class AccessAdmin:
    """Recorded changes of access, made by ``actor``.

    Args:
        store: The store whose documents and keys change.
        audit: The trail the changes go on.
        actor: Who makes them, and through which surface.

    """

    store: DocumentStore
    audit: AuditLog
    actor: Actor

    def set_groups(
        self, collection: str, targets: Sequence[str], groups: Sequence[str]
    ) -> list[GroupChange]:
        """Give the documents named by ``targets`` (ids, paths, folders) exactly ``groups``.

        Raises:
            BllossomRagError: A target names no document; nothing is changed then.

        """
        found: dict[str, DocumentRecord] = {}
        for target in targets:
            matches = self.store.find_documents(collection, target)
            if not matches:
                msg = (
                    f"no document in collection {collection!r} matches {target!r} "
                    "(an id, a stored path, or a file or folder; see: bllossom-rag docs list)"
                )
                raise BllossomRagError(msg)
            found.update((d.id, d) for d in matches)
        chosen = tuple(sorted(set(groups)))
        self.store.regroup(collection, list(found.values()), chosen)
        changes = [GroupChange(d, d.groups, chosen) for d in found.values()]
        for change in changes:
            self._record(
                "access",
                collection=collection,
                documents=(change.document.id,),
                detail={"before": list(change.before), "after": list(chosen)},
            )
        return changes

    def create_key(self, name: str, groups: Sequence[str], *, write: bool = False) -> IssuedKey:
        """Make a key that reads ``groups`` (and writes with ``write``); only its hash is kept.

        Raises:
            BllossomRagError: The name is empty or taken.

        """
        if not name.strip():
            msg = "a key needs a name: bllossom-rag keys create NAME"
            raise BllossomRagError(msg)
        key = new_key()
        scopes: tuple[Scope, ...] = ("read", "write") if write else ("read",)
        record = ApiKey(
            name.strip(), key_digest(key), tuple(sorted(set(groups))), scopes, time.time()
        )
        if not self.store.add_key(record):
            msg = f"a key named {record.name!r} exists; revoke it or choose another name"
            raise BllossomRagError(msg)
        self._record("key", detail=_key_detail(record, "created"))
        return IssuedKey(record, key)

    def revoke_key(self, name: str) -> ApiKey:
        """Revoke a working key: every server refuses it on its next request.

        Raises:
            BllossomRagError: No working key has that name.

        """
        record = next((k for k in self.store.api_keys() if k.name == name), None)
        if record is None or not self.store.revoke_key(name, time.time()):
            state = "no key" if record is None else "an already revoked key"
            msg = f"{state} named {name!r} (see: bllossom-rag keys list)"
            raise BllossomRagError(msg)
        self._record("key", detail=_key_detail(record, "revoked"))
        return record

    def _record(
        self,
        action: Action,
        *,
        collection: str | None = None,
        documents: tuple[str, ...] = (),
        detail: dict[str, Any],
    ) -> None:
        self.audit.record(
            AuditEntry(
                time=time.time(),
                who=self.actor.who,
                surface=self.actor.surface,
                action=action,
                collection=collection,
                documents=documents,
                detail=detail,
            )
        )


def _key_detail(key: ApiKey, change: str) -> dict[str, Any]:
    return {"key": key.name, "change": change, "groups": list(key.groups)}
