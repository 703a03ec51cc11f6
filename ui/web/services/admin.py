"""The admin page's calls: people, keys, rules and the trail as rows; changes through AccessAdmin.

Every change the page makes goes through :class:`rag.admin.AccessAdmin` with the administrator
as the actor on the ``admin`` surface, so it is on the audit trail like the same change made
with ``bllossom-rag keys`` or ``docs access``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from rag.access.audit import Actor, AuditEntry, as_jsonl
from rag.access.rules import access_rules
from rag.admin import AccessAdmin, GroupChange, IssuedKey
from rag.assistant import Assistant
from rag.config import Settings
from ui.web.auth import Identity
from ui.web.widgets import local_time

# The trail's newest entries the page shows at most (the export has them all).
AUDIT_ROWS = 500
DAY_S = 86_400.0


def admin_of(assistant: Assistant, identity: Identity) -> AccessAdmin:
    """Recorded changes made by this administrator, on the ``admin`` surface."""
    return assistant.admin(Actor(identity.who, "admin"))


def people_rows(assistant: Assistant) -> list[dict[str, Any]]:
    """Everyone let in so far, most recent first."""
    return [
        {
            "who": person.label,
            "name": person.name,
            "groups": ", ".join(person.groups),
            "first_seen": local_time(person.first_seen),
            "last_seen": local_time(person.last_seen),
        }
        for person in assistant.store.people()
    ]


def key_rows(assistant: Assistant) -> list[dict[str, Any]]:
    """The API keys (never the keys themselves), revoked ones included."""
    return [
        {
            "name": key.name,
            "groups": ", ".join(key.groups),
            "scopes": "/".join(key.scopes),
            "created": local_time(key.created_at),
            "last_used": local_time(key.last_used_at) if key.last_used_at else None,
            "revoked": local_time(key.revoked_at) if key.revoked_at else None,
        }
        for key in assistant.store.api_keys()
    ]


def working_keys(assistant: Assistant) -> list[str]:
    """Names of the keys that are not revoked."""
    return [key.name for key in assistant.store.api_keys() if key.revoked_at is None]


def create_key(
    assistant: Assistant, identity: Identity, name: str, groups: Sequence[str], *, write: bool
) -> IssuedKey:
    """Make a key (see :meth:`AccessAdmin.create_key`)."""
    return admin_of(assistant, identity).create_key(name, groups, write=write)


def revoke_key(assistant: Assistant, identity: Identity, name: str) -> None:
    """Revoke a key (see :meth:`AccessAdmin.revoke_key`)."""
    admin_of(assistant, identity).revoke_key(name)


def set_groups(
    assistant: Assistant,
    identity: Identity,
    collection: str,
    document_ids: Sequence[str],
    groups: Sequence[str],
) -> list[GroupChange]:
    """Give documents exactly ``groups`` (see :meth:`AccessAdmin.set_groups`)."""
    return admin_of(assistant, identity).set_groups(collection, document_ids, groups)


def rule_rows(settings: Settings) -> list[dict[str, Any]]:
    """The ``[[access.rules]]`` in effect, in the order they are tried."""
    return [
        {"order": number, "path": rule.path, "groups": ", ".join(rule.groups)}
        for number, rule in enumerate(access_rules(settings), start=1)
    ]


def known_groups(assistant: Assistant, settings: Settings) -> list[str]:
    """Every group named by a rule, a key, a person or the mapping (for pickers)."""
    store = assistant.store
    found = {group for rule in access_rules(settings) for group in rule.groups}
    found.update(group for key in store.api_keys() for group in key.groups)
    found.update(group for person in store.people() for group in person.groups)
    found.update(group for groups in settings.ui.user_groups.values() for group in groups)
    found.add(settings.access.admin_group)
    return sorted(found)


def audit_entries(assistant: Assistant, days: float, who: str) -> list[AuditEntry]:
    """The trail of the last ``days`` days (of ``who`` when given), newest first."""
    since = time.time() - days * DAY_S
    entries = assistant.store.audit_entries(since, who.strip() or None, AUDIT_ROWS)
    return entries[::-1]


def audit_rows(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    """Entries as the page's table shows them."""
    return [
        {
            "time": local_time(entry.time),
            "who": entry.who,
            "surface": entry.surface,
            "action": entry.action,
            "collection": entry.collection or "",
            "documents": ", ".join(entry.documents),
            "question": entry.question or "",
            "detail": json.dumps(dict(entry.detail), ensure_ascii=False),
        }
        for entry in entries
    ]


def audit_jsonl(entries: Sequence[AuditEntry]) -> bytes:
    """Entries (newest first, as shown) as ``bllossom-rag audit export`` writes them."""
    return as_jsonl(reversed(entries)).encode()
