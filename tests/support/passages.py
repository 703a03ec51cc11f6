"""Four short passages (two Korean, two English) with random unit vectors, for store tests."""

from __future__ import annotations

import numpy as np

from rag.store import DocumentRecord, DocumentUpdate, NewChunk

DIM = 8
TEXTS = {
    "leave": "연차 휴가는 입사 첫해에 최대 11일까지 사용할 수 있습니다.",
    "travel": "출장 경비는 영수증을 첨부하여 일주일 안에 청구해야 합니다.",
    "security": "Passwords must be rotated every ninety days and never shared.",
    "product": "The Bllossom assistant answers questions about company documents.",
}


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def text_update(doc_id: str, text: str, seed: int) -> DocumentUpdate:
    record = DocumentRecord(
        id=doc_id,
        collection="c",
        source_path=f"/docs/{doc_id}.md",
        content_sha256=doc_id + text,
        size=len(text),
        mtime=0.0,
    )
    return DocumentUpdate(record, [NewChunk(f"{doc_id}-0", 0, text, 8, unit(seed))])
