"""The chunks one caller may see, in the form the index searches consume.

Access control happens inside the searches, not after them: FAISS gets an ``IDSelector`` (its
search never scores a hidden vector), BM25 gets a row mask (a hidden row never enters the
accumulator), so neither can return, rank against or leak a restricted chunk. Both come from one
bitmap over vector ids, built once per (collection, commit, caller groups) and cached by the
store. When a caller may see everything (no restricted documents, or operator access) there is
no filter at all and searches run at full speed.
"""

from __future__ import annotations

from functools import cached_property

import faiss
import numpy as np


class Visible:
    """A set of readable vector ids, as a bitmap over ``[0, limit)``.

    Args:
        allowed: Boolean array; ``allowed[i]`` says whether vector id ``i`` is readable. Ids at
            or beyond its length are hidden.

    """

    def __init__(self, allowed: np.ndarray) -> None:
        self.allowed = np.ascontiguousarray(allowed, dtype=bool)

    @classmethod
    def only(cls, ids: np.ndarray) -> Visible:
        """Exactly ``ids``."""
        allowed = np.zeros(int(ids.max()) + 1 if len(ids) else 0, dtype=bool)
        allowed[ids] = True
        return cls(allowed)

    @property
    def count(self) -> int:
        """How many ids are readable."""
        return int(self.allowed.sum())

    def mask(self, ids: np.ndarray) -> np.ndarray:
        """Per-id readability for an array of vector ids."""
        inside = ids < len(self.allowed)
        result = np.zeros(len(ids), dtype=bool)
        result[inside] = self.allowed[ids[inside]]
        return result

    @cached_property
    def _packed(self) -> np.ndarray:
        return np.packbits(self.allowed, bitorder="little")

    @cached_property
    def selector(self) -> faiss.IDSelector:
        """A FAISS selector over the same ids (keeps its bitmap alive with it)."""
        # FAISS takes the bitmap's size in *bytes* and trusts it: given the number of ids it
        # reads past the array (up to 7x its size) for ids above the last readable one, and
        # garbage bits there let restricted vectors through.
        return faiss.IDSelectorBitmap(len(self._packed), faiss.swig_ptr(self._packed))
