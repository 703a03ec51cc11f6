"""A tokenizer wrapper that counts what it was asked to do (how often, how much text)."""

from __future__ import annotations


class CountingTokenizer:
    """The real tokenizer, counting its calls and the characters it was given."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.calls = 0
        self.chars = 0

    def __call__(self, text, **options):
        self.calls += 1
        self.chars += len(text) if isinstance(text, str) else sum(map(len, text))
        return self.tokenizer(text, **options)

    def __getattr__(self, name: str):
        return getattr(self.tokenizer, name)
