"""Where an answer ends: Llama-3's end-of-turn token, and stop strings cut from streamed text.

The published Bllossom config lists only ``<|end_of_text|>`` as EOS, but a chat answer ends with
``<|eot_id|>``; a generator that does not stop on it runs on into a fake next turn. Local
generation adds the token to its EOS ids; remote servers are sent its id (vLLM stops only on the
checkpoint's own EOS ids unless told; our worker always adds it and ignores the field).
"""

from __future__ import annotations

from collections.abc import Sequence

END_OF_TURN = "<|eot_id|>"
END_OF_TURN_ID = 128009  # Llama-3's id for END_OF_TURN


class StopText:
    """Cuts streamed text at the first stop string, holding back what could start one.

    The OpenAI API's ``stop`` strings are excluded from the answer, and a stop string can span
    several streamed pieces, so up to ``len(longest stop) - 1`` characters wait for the next one.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [stop for stop in stops if stop]
        self.hold = max((len(stop) for stop in self.stops), default=1) - 1
        self.pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Text that is safe to emit now (everything before a stop string, once found)."""
        self.pending += text
        hits = [i for i in (self.pending.find(stop) for stop in self.stops) if i >= 0]
        if hits:
            self.stopped = True
            out, self.pending = self.pending[: min(hits)], ""
            return out
        cut = max(len(self.pending) - self.hold, 0)
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out

    def flush(self) -> str:
        """What was held back, at the end of generation."""
        out, self.pending = self.pending, ""
        return out
