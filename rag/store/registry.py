"""Keys, people and the audit trail in SQL, one implementation for both store backends.

The three tables are alike in SQLite and PostgreSQL (see :mod:`rag.store.sql_tables`); every
method is one statement, so each is atomic on its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rag.access.audit import AuditEntry
from rag.access.keys import ApiKey
from rag.access.people import Person
from rag.access.registry import Registry
from rag.store.sql_tables import SqlTables

_KEY_COLUMNS = "name, digest, groups, scopes, created_at, last_used_at, revoked_at"
_PERSON_COLUMNS = "subject, email, name, groups, first_seen, last_seen"
_AUDIT_COLUMNS = (
    "id, time, who, surface, action, collection, question, question_sha256, documents, detail"
)


class SqlRegistry(SqlTables, Registry):
    """:class:`~rag.access.registry.Registry` over the store's own database."""

    # --- keys --------------------------------------------------------------------------------

    def add_key(self, key: ApiKey) -> bool:
        """Store a new key; False (nothing stored) when its name is taken."""
        return bool(
            self._count(
                f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (
                    key.name,
                    key.digest,
                    json.dumps(sorted(set(key.groups))),
                    json.dumps(list(key.scopes)),
                    key.created_at,
                    key.last_used_at,
                    key.revoked_at,
                ),
            )
        )

    def api_keys(self) -> list[ApiKey]:
        """Every key, revoked ones included, by name."""
        rows = self._run(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY name")
        return [_key(row) for row in rows]

    def key_by_digest(self, digest: str) -> ApiKey | None:
        """The key with this hash, or None."""
        rows = self._run(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE digest = ?", (digest,))
        return next((_key(row) for row in rows), None)

    def revoke_key(self, name: str, when: float) -> bool:
        """Revoke a working key; False when there is none by that name."""
        return bool(
            self._count(
                "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                (when, name),
            )
        )

    def touch_key(self, name: str, when: float) -> None:
        """Record a key's use."""
        self._count("UPDATE api_keys SET last_used_at = ? WHERE name = ?", (when, name))

    # --- people ------------------------------------------------------------------------------

    def see_person(self, person: Person) -> None:
        """Record a sign-in: new people are added, known ones get their groups and last visit."""
        self._count(
            f"INSERT INTO people ({_PERSON_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (subject) DO UPDATE SET email = excluded.email, name = excluded.name, "
            "groups = excluded.groups, last_seen = excluded.last_seen",
            (
                person.subject,
                person.email,
                person.name,
                json.dumps(sorted(set(person.groups))),
                person.first_seen,
                person.last_seen,
            ),
        )

    def people(self) -> list[Person]:
        """Everyone seen, most recent first."""
        rows = self._run(f"SELECT {_PERSON_COLUMNS} FROM people ORDER BY last_seen DESC")
        return [
            Person(row[0], row[1], row[2], tuple(json.loads(row[3])), row[4], row[5])
            for row in rows
        ]

    # --- audit trail -------------------------------------------------------------------------

    def append_audit(self, entry: AuditEntry) -> None:
        """Add an entry to the trail."""
        self._count(
            f"INSERT INTO audit ({_AUDIT_COLUMNS.removeprefix('id, ')}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.time,
                entry.who,
                entry.surface,
                entry.action,
                entry.collection,
                entry.question,
                entry.question_sha256,
                json.dumps(list(entry.documents)),
                json.dumps(dict(entry.detail), ensure_ascii=False),
            ),
        )

    def audit_entries(
        self, since: float = 0.0, who: str | None = None, limit: int | None = None
    ) -> list[AuditEntry]:
        """Entries from ``since`` on, oldest first.

        ``who`` keeps only that caller's; ``limit`` keeps the newest that many.
        """
        where = "time >= ?"
        parameters: list[Any] = [since]
        if who is not None:
            where += " AND who = ?"
            parameters.append(who)
        order = "ORDER BY time DESC, id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        rows = self._run(f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE {where} {order}", parameters)
        entries = [
            AuditEntry(
                id=int(row[0]),
                time=float(row[1]),
                who=row[2],
                surface=row[3],
                action=row[4],
                collection=row[5],
                question=row[6],
                question_sha256=row[7],
                documents=tuple(json.loads(row[8])),
                detail=json.loads(row[9]),
            )
            for row in rows
        ]
        return entries[::-1]

    def prune_audit(self, before: float) -> int:
        """Delete entries older than ``before``; how many went."""
        return self._count("DELETE FROM audit WHERE time < ?", (before,))


def _key(row: Sequence[Any]) -> ApiKey:
    return ApiKey(
        name=row[0],
        digest=row[1],
        groups=tuple(json.loads(row[2])),
        scopes=tuple(json.loads(row[3])),
        created_at=float(row[4]),
        last_used_at=None if row[5] is None else float(row[5]),
        revoked_at=None if row[6] is None else float(row[6]),
    )
