"""Does the passage an answer's sentence cites say what the sentence says? The support check.

After an answer, every sentence that cites ``[n]`` is compared with passage ``n`` on two kinds of
evidence, each cheap because the answer's sentences are short and the passages' vectors are
already stored:

- ``dense``: the cosine of the sentence (embedded as a query) and the passage's stored vector, in
  the embedder's language-neutral space (:mod:`rag.embeddings.space`), so a Korean sentence can
  be checked against the English passage it translates;
- ``overlap``: the share of the sentence's content morphemes (:mod:`rag.text.morphemes`: Kiwi for
  Korean, words for English) that the passage contains;
- ``cross_language``: whether one is Korean and the other English (then overlap cannot help).

A logistic model over them (the relevance model's form, :class:`~rag.embeddings.calibration.
RelevanceModel`) gives the probability that the citation is the sentence's true source, and a
sentence is *supported* when one of the passages it cites reaches the model's threshold. Model
and threshold were fitted on a set built from KorQuAD, XQuAD and the Korean-English news pairs,
each sentence with its true passage and with a shuffled one (another passage of the same
article, or of the same corpus), tuned on the dev half and reported on the test half
(``benchmarks/support.py``, ``docs/benchmarks.md``). They ship per embedder beside its
calibration (``<name>.support.json``); an embedder without one is not checked.

Sentences are cut at ``.``, ``?``, ``!``, ``。`` followed by a space, and at line breaks; citation
marks standing after a sentence's end (``... 입니다. [1]``) belong to that sentence.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document

from rag.embeddings.base import TextEmbeddings
from rag.embeddings.calibration import CALIBRATIONS, CalibrationFileError, RelevanceModel
from rag.retrieval.relevance import cross_language
from rag.store import DocumentStore
from rag.store.records import searchable_text
from rag.text.language import detect_language
from rag.text.morphemes import tokenize_many

logger = logging.getLogger(__name__)

_CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_BREAK = re.compile(r"(?<=[.?!。])\s+|\n+")
_LEADING_MARKS = re.compile(r"\s*(?:\[\d{1,3}(?:\s*,\s*\d{1,3})*\]\s*)+[.?!。]?")
_SPACE_BEFORE_MARK = re.compile(r"\s+(?=[.,?!。])")


@dataclass(frozen=True)
class CitedSentence:
    """A sentence of an answer and the passages it cites.

    Attributes:
        text: The sentence without its citation marks.
        citations: The cited numbers, in the order they appear, each once.
        start: Where the sentence starts in the answer (its marks included).
        end: Where it ends.

    """

    text: str
    citations: tuple[int, ...]
    start: int
    end: int


def cited_sentences(answer: str) -> list[CitedSentence]:
    """The answer's sentences that cite something, in order."""
    pieces: list[list[int]] = []  # [start, end] of each piece
    position = 0
    for cut in _BREAK.finditer(answer):
        pieces.append([position, cut.start()])
        position = cut.end()
    pieces.append([position, len(answer)])
    merged: list[list[int]] = []
    for start, end in pieces:
        leading = _LEADING_MARKS.match(answer, start, end)
        if merged and leading is not None:  # ``... 입니다. [1]``: the marks close the one before
            merged[-1][1] = leading.end()
            start = leading.end()
        if answer[start:end].strip():
            merged.append([start, end])
    found = []
    for start, end in merged:
        end = start + len(answer[start:end].rstrip())
        text = answer[start:end]
        numbers = [int(n) for group in _CITATION.findall(text) for n in group.split(",")]
        plain = _SPACE_BEFORE_MARK.sub("", " ".join(_CITATION.sub(" ", text).split()))
        if numbers and plain:
            found.append(CitedSentence(plain, tuple(dict.fromkeys(numbers)), start, end))
    return found


@dataclass(frozen=True)
class SentenceSupport:
    """One cited sentence, checked.

    Attributes:
        sentence: The sentence and what it cites.
        scores: For each cited number, the probability that passage supports the sentence (0
            for a number that names no passage).
        supported: Whether some passage it cites reaches the threshold.

    """

    sentence: CitedSentence
    scores: tuple[float, ...]
    supported: bool

    def to_json(self) -> dict[str, Any]:
        """The shape the command line, the RAG API and the web app share."""
        sentence = self.sentence
        return {
            "text": sentence.text,
            "citations": list(sentence.citations),
            "scores": [round(score, 4) for score in self.scores],
            "supported": self.supported,
            "start": sentence.start,
            "end": sentence.end,
        }


@dataclass(frozen=True)
class SupportModel:
    """The fitted model and the probability below which a citation is not support."""

    model: RelevanceModel
    threshold: float

    @classmethod
    def read(cls, path: Path) -> SupportModel:
        """A model as ``benchmarks/support.py`` wrote it.

        Raises:
            CalibrationFileError: The file is malformed.

        """
        try:
            meta = json.loads(path.read_text("utf-8"))
            weights = tuple(float(meta["weights"][term]) for term in SUPPORT_TERMS)
            return cls(RelevanceModel(float(meta["intercept"]), weights), float(meta["threshold"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CalibrationFileError(f"{path}: {error}") from None


SUPPORT_TERMS = ("dense", "overlap", "cross_language", "dense_x_cross_language")


@functools.cache
def support_model(calibration: str, folder: Path = CALIBRATIONS) -> SupportModel | None:
    """The support model shipped for an embedder's calibration, or None (read once)."""
    path = folder / f"{calibration}.support.json"
    if not path.is_file():
        return None
    try:
        return SupportModel.read(path)
    except CalibrationFileError as error:
        logger.warning("the support check is off: %s", error)
        return None


def support_features(
    dense: Sequence[float],
    sentence_tokens: Sequence[Sequence[str]],
    passage_tokens: Sequence[Sequence[str]],
    crossed: Sequence[bool],
) -> np.ndarray:
    """Rows of ``(dense, overlap, cross_language)``, one per (sentence, passage) pair."""
    overlap = [
        len(set(said) & set(source)) / len(set(said)) if said else 0.0
        for said, source in zip(sentence_tokens, passage_tokens, strict=True)
    ]
    return np.column_stack([dense, overlap, np.asarray(crossed, dtype=np.float64)])


class SupportCheck:
    """Checks an answer's cited sentences against the passages they cite.

    Args:
        embeddings: The collection's embedder (its calibration's space is where sentences and
            passages are compared).
        store: Where the passages' vectors are.
        model: The support model; None when the embedder has none (nothing is checked).

    """

    def __init__(
        self, embeddings: TextEmbeddings, store: DocumentStore, model: SupportModel | None
    ) -> None:
        self.embeddings = embeddings
        self.store = store
        self.model = model

    @classmethod
    def for_embeddings(cls, embeddings: TextEmbeddings, store: DocumentStore) -> SupportCheck:
        """The check with the support model of the embedder's calibration."""
        return cls(embeddings, store, support_model(embeddings.calibration.name))

    def check(self, answer: str, documents: Sequence[Document]) -> list[SentenceSupport]:
        """Each cited sentence of ``answer``, with ``[n]`` read as ``documents[n - 1]``.

        Empty when the answer cites nothing or the embedder has no support model.
        """
        sentences = cited_sentences(answer)
        if self.model is None or not sentences:
            return []
        pairs = [
            (index, number)
            for index, sentence in enumerate(sentences)
            for number in sentence.citations
            if 1 <= number <= len(documents)
        ]
        found = self._probabilities(sentences, pairs, documents)
        probabilities = dict(zip(pairs, found, strict=True))
        checked = []
        for index, sentence in enumerate(sentences):
            scores = tuple(probabilities.get((index, n), 0.0) for n in sentence.citations)
            supported = max(scores) >= self.model.threshold
            checked.append(SentenceSupport(sentence, scores, supported))
        return checked

    def _probabilities(
        self,
        sentences: Sequence[CitedSentence],
        pairs: Sequence[tuple[int, int]],
        documents: Sequence[Document],
    ) -> list[float]:
        assert self.model is not None
        if not pairs:
            return []
        cited = sorted({number for _, number in pairs})
        passages = {n: documents[n - 1] for n in cited}
        space = self.embeddings.calibration.space
        queries = space.queries(self.embeddings.encode_queries([s.text for s in sentences]))
        vectors = self._passage_vectors(passages)
        texts = [_passage_text(passages[n]) for n in cited]
        tokens = tokenize_many([s.text for s in sentences] + texts)
        said = tokens[: len(sentences)]
        source = dict(zip(cited, tokens[len(sentences) :], strict=True))
        languages = [detect_language(s.text) for s in sentences]
        dense = [float(queries[i] @ vectors[n]) for i, n in pairs]
        crossed = [
            cross_language(languages[i], passages[n].metadata.get("language", "und"))
            for i, n in pairs
        ]
        features = support_features(
            dense, [said[i] for i, _ in pairs], [source[n] for _, n in pairs], crossed
        )
        return [float(p) for p in self.model.model(features)]

    def _passage_vectors(self, passages: dict[int, Document]) -> dict[int, np.ndarray]:
        """Each cited passage's stored vector in the space (embedded now if it is gone)."""
        by_collection: dict[str, list[str]] = {}
        for document in passages.values():
            by_collection.setdefault(str(document.metadata.get("collection", "")), []).append(
                str(document.metadata.get("id", ""))
            )
        stored: dict[str, np.ndarray] = {}
        for collection, ids in by_collection.items():
            if collection:
                stored.update(self.store.chunk_vectors(collection, ids))
        missing = [n for n, d in passages.items() if str(d.metadata.get("id", "")) not in stored]
        if missing:  # removed since it was retrieved: its text is still here
            texts = [_passage_text(passages[n]) for n in missing]
            for n, vector in zip(missing, self.embeddings.encode_documents(texts), strict=True):
                stored[str(passages[n].metadata.get("id", ""))] = vector
        numbers = list(passages)
        matrix = np.vstack([stored[str(passages[n].metadata.get("id", ""))] for n in numbers])
        mapped = self.embeddings.calibration.space.passages(matrix)
        return dict(zip(numbers, mapped, strict=True))


def _passage_text(document: Document) -> str:
    """A passage as it was embedded and is searched: its heading path's line, then its text."""
    return searchable_text(str(document.metadata.get("heading", "")), document.page_content)
