"""How many prompt tokens an image costs, counted by the processor's own code without running it.

The prompt budget must know an image's cost before deciding to include it, and running the
image processor (resize, crop, normalize every tile) just to count is wasteful. transformers'
multimodal processors answer the question from the image size alone:
``_get_num_multimodal_tokens(image_sizes=...)`` is the hook vLLM calls to plan its prompts, and
for LLaVA-NeXT it runs the same anyres code (``_get_number_of_features``) that
``replace_image_token`` uses when the processor really expands an ``<image>``: a 1024x1024
image costs 2,928 tokens, 336x336 costs 1,176.

Trade-off: the name has a leading underscore, so a transformers release could move it. Counting
with the code that expands is still the better side of that trade: a formula of our own is a
copy of the library's that drifts silently, and it only knows LLaVA-NeXT's geometry, while the
hook answers for whichever processor the generator checkpoint ships. A processor without the
hook is refused with one line when the budget is built, and the tests compare this count with
the processor's real expansion for a dozen sizes, so a change upstream fails loudly.
"""

from __future__ import annotations

from typing import Any

from rag.errors import ConfigError


class ImageTokens:
    """Prompt tokens per image size for one processor, memoized (the budget asks repeatedly).

    Args:
        processor: The generator's multimodal processor (e.g. ``LlavaNextProcessor``).

    Raises:
        ConfigError: The processor cannot count image tokens from a size.

    """

    def __init__(self, processor: Any) -> None:
        count = getattr(processor, "_get_num_multimodal_tokens", None)
        if count is None:
            msg = (
                f"the generator's processor ({type(processor).__name__}) cannot count image "
                "tokens from an image size; use a LLaVA-NeXT checkpoint such as Bllossom-Vision "
                "with transformers >= 4.57"
            )
            raise ConfigError(msg)
        self._count = count
        self._known: dict[tuple[int, int], int] = {}

    def __call__(self, width: int, height: int) -> int:
        """Tokens an image of ``width`` x ``height`` pixels occupies in the prompt."""
        size = (height, width)
        if size not in self._known:
            counted = self._count(image_sizes=[size])
            self._known[size] = int(counted.num_image_tokens[0])
        return self._known[size]
