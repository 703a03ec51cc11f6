"""A floor under a request's prompt length, from the length of its text alone.

Tokenizing 30 MB of text costs the fast tokenizer about a minute and gigabytes of memory, and
only then does the exact count say the prompt is far over the limit. No token stands for more
characters than the longest entry of the tokenizer's vocabulary (for Llama-3, 128: a run of
spaces), so text of ``n`` characters is at least ``n / longest`` tokens whatever it says, and
the chat template, defusing and images only add to that. The floor is loose (prose runs 3-8
characters per token) but costs one sum of string lengths, so a request it refuses is refused in
microseconds, before any image is decoded; anything under it is encoded and counted exactly, as
before. A floor may only err low: refusing a prompt that would have fit is the one thing it must
never do.
"""

from __future__ import annotations

from typing import Any

from serve.http.protocol import ChatCompletionRequest


class PromptFloor:
    """The fewest tokens a request's text can be, for one tokenizer.

    Args:
        tokenizer: The generator's tokenizer.

    """

    def __init__(self, tokenizer: Any) -> None:
        # A vocabulary entry is at least as long as the text its token stands for: byte-level
        # BPE writes one character per byte, SentencePiece writes the text itself (byte-fallback
        # pieces such as "<0xEA>" are longer than the byte they stand for).
        self.longest_token = max(len(entry) for entry in tokenizer.get_vocab())

    def tokens(self, request: ChatCompletionRequest) -> int:
        """A number of tokens the request's prompt cannot be shorter than."""
        return request.text_length() // self.longest_token
