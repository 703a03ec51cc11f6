"""What the store keeps of conversations: each person's list, the turns, the share tokens.

Both store backends implement it (:class:`rag.store.DocumentStore` is one), so a conversation
started on one instance of a PostgreSQL store opens on every other. Every call names the owner
and only touches that owner's conversations: someone else's id is the same as no id at all.
A shared conversation is found by its token alone; whether the person holding the link may see
it is the caller's check (:func:`rag.conversations.sharing.may_open`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from rag.conversations.records import Conversation, SavedTurn


class SavedConversations(ABC):
    """Conversations per person, in the store's own database."""

    @abstractmethod
    def start_conversation(self, owner: str, title: str, collection: str) -> Conversation:
        """A new, empty conversation of ``owner``."""

    @abstractmethod
    def conversations(self, owner: str, limit: int = 200) -> list[Conversation]:
        """``owner``'s conversations, the latest first, without their turns."""

    @abstractmethod
    def conversation(self, conversation_id: str, owner: str) -> Conversation | None:
        """One of ``owner``'s conversations with its turns, or None."""

    @abstractmethod
    def add_turn(self, conversation_id: str, owner: str, turn: SavedTurn) -> bool:
        """Append a turn (the conversation moves to the turn's collection); False: no such one."""

    @abstractmethod
    def rename_conversation(self, conversation_id: str, owner: str, title: str) -> bool:
        """Give it a new title; False when ``owner`` has no such conversation."""

    @abstractmethod
    def delete_conversation(self, conversation_id: str, owner: str) -> bool:
        """Delete it with its turns (its share link stops working); False when there is none."""

    @abstractmethod
    def share_conversation(self, conversation_id: str, owner: str) -> str | None:
        """Its share token, made now unless it has one; None when there is no such one."""

    @abstractmethod
    def unshare_conversation(self, conversation_id: str, owner: str) -> bool:
        """Forget its token, so the link opens nothing; False when it was not shared."""

    @abstractmethod
    def shared_conversation(self, token: str) -> Conversation | None:
        """The conversation a share link names, with its turns, or None."""
