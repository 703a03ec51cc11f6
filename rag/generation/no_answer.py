"""The fixed answer when a collection has nothing for a question: honest, localized, free.

When retrieval returns no passage (nothing the caller may read is relevant enough: see the
retriever's relevance floor), a generated answer could only come from the model's own memory,
and it would be shown as if the documents said it. Every surface (``ask``, ``chat``, the web
app, the API) therefore answers with this one sentence in the question's language, shows no
sources, and never calls the generator: the chain takes this branch instead of the model's.
"""

from __future__ import annotations

from rag.text.language import answer_language

NO_ANSWER = {
    "ko": "이 컬렉션의 문서에는 이 질문에 대한 내용이 없습니다.",
    "en": "The documents in this collection don't cover this.",
}


def no_answer(question: str) -> str:
    """The fixed answer in the question's language (Korean unless the question is English)."""
    return NO_ANSWER["en" if answer_language(question) == "en" else "ko"]
