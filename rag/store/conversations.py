"""Saved conversations in SQL, one implementation for both store backends.

Two tables (created by each backend's migrations): ``conversations`` (one row each, with its
owner, title, collection and share token) and ``conversation_turns`` (one row per turn, its
sources as JSON, deleted with its conversation). Every statement names the owner, so a
conversation id of someone else's matches nothing. Appending a turn and moving the
conversation's time and collection happen in one transaction.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from rag.conversations.records import Conversation, SavedSource, SavedTurn
from rag.conversations.saved import SavedConversations
from rag.conversations.sharing import new_token
from rag.store.sql_tables import SqlTables

_COLUMNS = "id, owner, title, collection, created_at, updated_at, share_token"
_TURN_COLUMNS = "question, answer, collection, sources, error, image, asked_at"


class SqlConversations(SqlTables, SavedConversations):
    """:class:`~rag.conversations.SavedConversations` over the store's own database."""

    def start_conversation(self, owner: str, title: str, collection: str) -> Conversation:
        """A new, empty conversation of ``owner``."""
        now = time.time()
        started = Conversation(uuid.uuid4().hex, owner, title, collection, now, now)
        self._count(
            f"INSERT INTO conversations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (started.id, owner, title, collection, now, now, None),
        )
        return started

    def conversations(self, owner: str, limit: int = 200) -> list[Conversation]:
        """``owner``'s conversations, the latest first, without their turns."""
        rows = self._run(
            f"SELECT {_COLUMNS} FROM conversations WHERE owner = ? "
            f"ORDER BY updated_at DESC, id LIMIT {int(limit)}",
            (owner,),
        )
        return [_conversation(row) for row in rows]

    def conversation(self, conversation_id: str, owner: str) -> Conversation | None:
        """One of ``owner``'s conversations with its turns, or None."""
        return self._with_turns(
            f"SELECT {_COLUMNS} FROM conversations WHERE id = ? AND owner = ?",
            (conversation_id, owner),
        )

    def add_turn(self, conversation_id: str, owner: str, turn: SavedTurn) -> bool:
        """Append a turn (the conversation moves to the turn's collection); False: no such one."""
        sources = json.dumps([source.to_json() for source in turn.sources], ensure_ascii=False)
        moved, added = self._count_all(
            [
                (
                    "UPDATE conversations SET updated_at = ?, collection = ? "
                    "WHERE id = ? AND owner = ?",
                    (turn.asked_at or time.time(), turn.collection, conversation_id, owner),
                ),
                (
                    "INSERT INTO conversation_turns "
                    f"(conversation_id, position, {_TURN_COLUMNS}) "
                    "SELECT c.id, (SELECT COUNT(*) FROM conversation_turns t "
                    "WHERE t.conversation_id = c.id), ?, ?, ?, ?, ?, ?, ? "
                    "FROM conversations c WHERE c.id = ? AND c.owner = ?",
                    (
                        turn.question,
                        turn.answer,
                        turn.collection,
                        sources,
                        turn.error,
                        int(turn.image),
                        turn.asked_at or time.time(),
                        conversation_id,
                        owner,
                    ),
                ),
            ]
        )
        return bool(moved and added)

    def rename_conversation(self, conversation_id: str, owner: str, title: str) -> bool:
        """Give it a new title; False when ``owner`` has no such conversation."""
        return bool(
            self._count(
                "UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                (title, conversation_id, owner),
            )
        )

    def delete_conversation(self, conversation_id: str, owner: str) -> bool:
        """Delete it with its turns (its share link stops working); False when there is none."""
        return bool(  # its turns go with it (ON DELETE CASCADE)
            self._count(
                "DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner)
            )
        )

    def share_conversation(self, conversation_id: str, owner: str) -> str | None:
        """Its share token, made now unless it has one; None when there is no such one."""
        self._count(
            "UPDATE conversations SET share_token = ? "
            "WHERE id = ? AND owner = ? AND share_token IS NULL",
            (new_token(), conversation_id, owner),
        )
        rows = self._run(
            "SELECT share_token FROM conversations WHERE id = ? AND owner = ?",
            (conversation_id, owner),
        )
        return next((str(row[0]) for row in rows), None)

    def unshare_conversation(self, conversation_id: str, owner: str) -> bool:
        """Forget its token, so the link opens nothing; False when it was not shared."""
        return bool(
            self._count(
                "UPDATE conversations SET share_token = NULL "
                "WHERE id = ? AND owner = ? AND share_token IS NOT NULL",
                (conversation_id, owner),
            )
        )

    def shared_conversation(self, token: str) -> Conversation | None:
        """The conversation a share link names, with its turns, or None."""
        if not token:
            return None
        return self._with_turns(
            f"SELECT {_COLUMNS} FROM conversations WHERE share_token = ?", (token,)
        )

    def _with_turns(self, sql: str, parameters: Sequence[Any]) -> Conversation | None:
        found = next((_conversation(row) for row in self._run(sql, parameters)), None)
        if found is None:
            return None
        rows = self._run(
            f"SELECT {_TURN_COLUMNS} FROM conversation_turns "
            "WHERE conversation_id = ? ORDER BY position",
            (found.id,),
        )
        return found.with_turns([_turn(row) for row in rows])


def _conversation(row: Sequence[Any]) -> Conversation:
    return Conversation(
        id=row[0],
        owner=row[1],
        title=row[2],
        collection=row[3],
        created_at=float(row[4]),
        updated_at=float(row[5]),
        share_token=row[6],
    )


def _turn(row: Sequence[Any]) -> SavedTurn:
    return SavedTurn(
        question=row[0],
        answer=row[1],
        collection=row[2],
        sources=tuple(SavedSource.from_json(item) for item in json.loads(row[3])),
        error=row[4],
        image=bool(row[5]),
        asked_at=float(row[6]),
    )
