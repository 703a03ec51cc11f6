"""The prompt budget's trimming as it was before it priced each message once (d3d1f84).

It measured the whole prompt again after each exchange it dropped: quadratic in the
conversation's length. Kept here, unchanged but for its name, as the baseline that the
benchmark times (``benchmarks/prompt_budget.py``) and that the tests compare results with: the
linear trimming must keep exactly what this one kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage

from rag.errors import PromptTooLongError
from rag.generation.budget import FittedPrompt, PromptBudget
from rag.generation.prompt import PromptImage


def quadratic_fit(
    budget: PromptBudget,
    question: str,
    documents: Sequence[Document],
    images: Sequence[PromptImage] = (),
    history: Sequence[HumanMessage | AIMessage] = (),
) -> FittedPrompt:
    """``PromptBudget.fit`` of d3d1f84: one whole measure per image, exchange or passage cut."""
    kept_images = list(images)
    kept = list(documents)
    turns = list(history)

    def measure() -> tuple[str, int]:
        return budget._measure(question, kept, kept_images, turns)

    text, tokens = measure()
    while tokens > budget.limit and any(image.number is not None for image in kept_images):
        last = max(i for i, image in enumerate(kept_images) if image.number is not None)
        del kept_images[last]
        text, tokens = measure()
    while tokens > budget.limit and turns:
        del turns[0]
        while turns and turns[0].type != "human":
            del turns[0]
        text, tokens = measure()
    while tokens > budget.limit and kept:
        shorter = budget._shortened(kept[-1], tokens - budget.limit)
        if shorter is None:
            kept.pop()
        else:
            kept[-1] = shorter
        text, tokens = measure()
    if tokens > budget.limit:
        msg = f"the question alone needs {tokens:,} prompt tokens"
        raise PromptTooLongError(msg)
    return FittedPrompt(documents=kept, images=kept_images, tokens=tokens, text=text, history=turns)
