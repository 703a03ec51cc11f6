"""Saved conversations: each person's chats, kept in the store, reopened, exported, shared."""

from rag.conversations.records import Conversation, SavedSource, SavedTurn
from rag.conversations.saved import SavedConversations

__all__ = ["Conversation", "SavedConversations", "SavedSource", "SavedTurn"]
