"""Who may open a shared conversation: someone who may read every document it cites.

A share link hands a conversation to whoever holds it, but its answers quote passages, and a
passage is readable only by its document's groups. So the link opens only for a person whose
reading rights cover every document the conversation cites, checked when it is opened against
the documents' groups of that moment (a document restricted since is restricted here too). A
cited document that is gone cannot be checked, and refuses the link as well: access is never
widened by guessing. The refusal says no more than that, whoever asks.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.access import Access
    from rag.conversations.records import Conversation
    from rag.store.base import Documents

TOKEN_BYTES = 24


def new_token() -> str:
    """A share token: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def may_open(conversation: Conversation, access: Access, store: Documents) -> bool:
    """Whether ``access`` may read every document ``conversation`` cites."""
    for collection, document_id in conversation.cited():
        document = store.document(collection, document_id)
        if document is None or not access.can_read(document.groups):
            return False
    return True
