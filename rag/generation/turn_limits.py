"""What one question and its conversation may hold, checked before any work is done.

A question costs in proportion to its text: it is tokenized and embedded, analysed into
morphemes, searched with every keyword, and put into the prompt; a conversation adds its turns
to all of it. Unbounded, one request of a few megabytes holds a thread for minutes. So the
question, each earlier turn and the number of messages are held to ``[conversation]`` limits
from their lengths alone, in microseconds. Where a client sends the conversation (the RAG
API), one over a limit is refused; where the conversation is the assistant's own (the command
line's ``chat``, the web app), it carries its latest turns (:meth:`TurnLimits.recent`), as the
prompt would have kept them anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from rag.errors import TurnTooLargeError

if TYPE_CHECKING:
    from rag.config import Settings


@dataclass(frozen=True)
class TurnLimits:
    """The ``[conversation]`` limits on one question and its conversation.

    Attributes:
        max_question_chars: Characters in the question.
        max_turn_chars: Characters in one earlier turn.
        max_turns: Messages in the conversation, the question included.

    """

    max_question_chars: int = 4_000
    max_turn_chars: int = 16_000
    max_turns: int = 50

    @classmethod
    def from_settings(cls, settings: Settings) -> TurnLimits:
        """The limits of ``[conversation]``."""
        conversation = settings.conversation
        return cls(
            conversation.max_question_chars, conversation.max_turn_chars, conversation.max_turns
        )

    def check_question(self, question: str) -> None:
        """Refuse a question over ``max_question_chars``.

        Raises:
            TurnTooLargeError: Naming its length, the limit and the setting.

        """
        if len(question) > self.max_question_chars:
            msg = (
                f"the question is {len(question):,} characters; at most "
                f"{self.max_question_chars:,} are accepted (conversation.max_question_chars): "
                "shorten it"
            )
            raise TurnTooLargeError(msg, None)

    def check(self, question: str, history: Sequence[BaseMessage]) -> None:
        """Refuse a question or a conversation over a limit.

        Raises:
            TurnTooLargeError: Naming what is over, the limit and the setting; its ``index``
                says which message (the question is ``len(history)``).

        """
        if len(history) + 1 > self.max_turns:
            msg = (
                f"the conversation has {len(history) + 1:,} messages; at most "
                f"{self.max_turns:,} are accepted (conversation.max_turns): send the latest "
                "turns only"
            )
            raise TurnTooLargeError(msg, None)
        for index, message in enumerate(history):
            if len(message.text) > self.max_turn_chars:
                msg = (
                    f"an earlier turn is {len(message.text):,} characters; at most "
                    f"{self.max_turn_chars:,} are accepted (conversation.max_turn_chars)"
                )
                raise TurnTooLargeError(msg, index)
        try:
            self.check_question(question)
        except TurnTooLargeError as error:
            raise TurnTooLargeError(str(error), len(history)) from None

    def recent(self, history: Sequence[BaseMessage]) -> list[BaseMessage]:
        """The latest turns within the limits, as an interactive conversation carries them.

        Whole exchanges beyond ``max_turns`` go, oldest first (what is kept starts with a
        question), and a longer turn is cut to ``max_turn_chars`` (its text only: the prompt
        carries no earlier images).
        """
        kept = list(history[len(history) - self.max_turns + 1 :]) if self.max_turns > 1 else []
        while kept and kept[0].type != "human":
            del kept[0]
        return [_cut(message, self.max_turn_chars) for message in kept]


def _cut(message: BaseMessage, chars: int) -> BaseMessage:
    """``message``, or its text's first ``chars`` characters when it is longer."""
    if len(message.text) <= chars:
        return message
    text = message.text[:chars]
    return HumanMessage(content=text) if message.type == "human" else AIMessage(content=text)
