"""Where vectors are compared: embeddings with their language taken out.

A multilingual embedder places a text partly by what it says and partly by the language it says
it in: e5-small's Korean sentences sit closer to every other Korean sentence than to their own
English translation's neighbours. In a corpus of one language this costs nothing, but in a mixed
one a Korean question prefers an unrelated Korean passage to the English one that answers it
(dense recall@1 .42 on the mixed news dev set, ``docs/benchmarks.md``).

The remedy here is one fixed affine map per model and per input kind (queries and passages get
different prompts, so different maps): subtract a shift (a share of the mean of the Korean and
English mean vectors) and project out the language axis (the direction from the English mean to the
Korean mean), then normalize. Both are estimated once on the news dev split
(``benchmarks/calibrate.py``) and shipped with the code (:mod:`rag.embeddings.calibration`). On the
mixed dev sets (dense recall@1, Korean questions / English questions) it gives .83 / .88 from .42 /
.60; subtracting each language's own mean gave .86 / .86 but needs every text's language (a mixed
chunk has none) and cost more on single-language search (KorQuAD dense .744 against .762 here, .750
raw). The map needs no label, so a chunk's vector is mapped without knowing its language and the
FAISS view stays one index. The shift is half the mean (``alpha`` 0.5): the whole mean separated the
mixed sets a little better but cost KorQuAD hybrid recall@1 (.914 against .920 on dev).

Stored vectors in SQLite stay exactly what the model returned; the map is applied where vectors
are compared: to the FAISS view (:class:`rag.store.dense_index.DenseIndex` holds mapped vectors
and records which space in its manifest), to the query, and to any stored vector scored
directly. :data:`RAW` is the identity, for models without a calibration and for callers (the
LangChain vector store) whose vectors come from anywhere.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AffineMap:
    """``x -> unit((x - shift) with its component along axis removed)``.

    Attributes:
        shift: Subtracted first, ``(dimension,)``.
        axis: A unit vector whose component is then removed, ``(dimension,)``.

    """

    shift: np.ndarray
    axis: np.ndarray

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        """Map the rows of ``matrix`` (``(n, dimension)``) to unit vectors, float32."""
        moved = np.asarray(matrix, dtype=np.float32) - self.shift
        moved -= np.outer(moved @ self.axis, self.axis)
        norms = np.linalg.norm(moved, axis=1, keepdims=True)
        return (moved / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@dataclass(frozen=True)
class VectorSpace:
    """The maps applied to passages and queries before they are compared.

    Attributes:
        name: What it was fitted for (a calibration's name), or ``raw``.
        passage: The map for stored passages; None: vectors as they are.
        query: The map for queries; None: vectors as they are.

    """

    name: str
    passage: AffineMap | None = None
    query: AffineMap | None = None

    @property
    def id(self) -> str:
        """A short digest of the maps, which a FAISS view built in this space records."""
        if self.passage is None or self.query is None:
            return "raw"
        digest = hashlib.sha256()
        for array in (self.passage.shift, self.passage.axis, self.query.shift, self.query.axis):
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        return digest.hexdigest()[:12]

    def passages(self, matrix: np.ndarray) -> np.ndarray:
        """Stored passage vectors, ``(n, dimension)``, as they are compared in this space."""
        if self.passage is None:
            return np.asarray(matrix, dtype=np.float32)
        return self.passage(matrix)

    def queries(self, matrix: np.ndarray) -> np.ndarray:
        """Query vectors, ``(n, dimension)``, as they are compared in this space."""
        if self.query is None:
            return np.asarray(matrix, dtype=np.float32)
        return self.query(matrix)

    def query_vector(self, vector: np.ndarray) -> np.ndarray:
        """One query vector, ``(dimension,)``, as it is compared in this space."""
        if self.query is None:
            return np.asarray(vector, dtype=np.float32)
        return self.query(np.asarray(vector).reshape(1, -1))[0]


RAW = VectorSpace("raw")
