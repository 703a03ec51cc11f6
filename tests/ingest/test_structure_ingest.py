"""Ingesting structured text: heading paths to the store and the prompt, token ids to the
embedder, small files chunked together, repetitive text refused after bounded work."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from devkit.statute import STATUTE, TITLE
from ingest.file_limits import Limits
from ingest.pipeline import Ingestor
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.generation.prompt import format_passages
from rag.retrieval.retriever import StoreRetriever
from rag.store import Store
from rag.text import headings
from tests.support.tokenizers import CountingTokenizer


class RecordingEmbeddings(SentenceTransformerEmbeddings):
    """The real embedder, remembering what each ``encode_documents`` call was given."""

    def __init__(self, inner: SentenceTransformerEmbeddings) -> None:
        super().__init__(inner.model, name=inner.name, batch_size=inner.batch_size)
        self.calls: list[tuple[list[str], list | None]] = []

    def encode_documents(
        self, texts: Sequence[str], *, token_ids: Sequence[Sequence[int] | None] | None = None
    ) -> np.ndarray:
        self.calls.append((list(texts), None if token_ids is None else list(token_ids)))
        return super().encode_documents(texts, token_ids=token_ids)


def statute_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "laws"
    folder.mkdir()
    shutil.copy(STATUTE, folder / "법.txt")
    return folder


def test_statute_chunks_reach_the_prompt_with_their_heading_path(
    store: Store, embeddings, tmp_path
):
    folder = statute_folder(tmp_path)
    ingestor = Ingestor(store, embeddings, chunk_tokens=256, chunk_overlap=32, max_file_bytes=10**6)
    assert not ingestor.ingest([folder], collection="default").failed
    [document] = store.documents("default")
    stored = store.document_chunks("default", document.id)
    assert stored and all(c.heading.startswith(TITLE) for c in stored)
    retriever = StoreRetriever(store=store, embeddings=embeddings, k=5, mode="bm25")
    found = retriever.invoke("환급이 늦어진 기간의 지연이자")
    [refund] = [d for d in found if d.metadata.get("heading", "").endswith("제19조(환불)")][:1]
    assert refund.metadata["heading"] == f"{TITLE} > 제4장 이용자의 권리 > 제19조(환불)"
    assert refund.page_content.startswith(("제19조(환불)", "③", "⑤"))
    assert headings.MARK not in refund.page_content
    source = f"{folder.name}/법.txt"  # shown relative to where it was ingested from
    assert format_passages([refund]).startswith(f"[1] ({source} · {TITLE} > 제4장 이용자의 권리")


def test_chunks_go_to_the_embedder_with_their_token_ids(store: Store, embeddings, tmp_path):
    recording = RecordingEmbeddings(embeddings)
    folder = statute_folder(tmp_path)
    (folder / "안내.md").write_text(
        "# 사내 안내\n## 주차\n주차장은 지하 2층에 있습니다.\n"
        "## 식당\n점심은 11시 30분부터입니다.\n",
        encoding="utf-8",
    )
    ingestor = Ingestor(store, recording, chunk_tokens=128, chunk_overlap=16, max_file_bytes=10**6)
    assert not ingestor.ingest([folder], collection="default").failed
    pairs = [  # the pipeline's calls (the calibration's probe texts come without ids)
        (t, ids)
        for texts, given in recording.calls
        if given is not None
        for t, ids in zip(texts, given, strict=True)
    ]
    assert len(pairs) > 40 and sum(ids is not None for _, ids in pairs) >= 0.95 * len(pairs)
    for text, ids in pairs:
        if ids is not None:
            assert list(ids) == embeddings.tokenizer(text, add_special_tokens=False)["input_ids"]
    # What was stored is what the model gives for the texts themselves.
    texts = [t for t, _ in pairs]
    expected = dict(zip(texts, embeddings.encode_documents(texts), strict=True))
    for document in store.documents("default"):
        vectors = store.document_vectors("default", document.id)
        for chunk in store.document_chunks("default", document.id):
            heading, passage = chunk.heading, chunk.text
            # The context line is the path less the section's own heading where the passage
            # opens with it, the whole path in a later chunk of a long section; none when empty.
            context = heading.rsplit(" > ", 1)[0] if " > " in heading else heading
            lines = [f"{context}\n{passage}", f"{heading}\n{passage}", passage]
            embedded = next(line for line in lines if line in expected)
            assert np.abs(vectors[chunk.id] - expected[embedded]).max() < 1e-5


def test_small_files_share_tokenizer_calls(store: Store, embeddings, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(12):
        (folder / f"note{i:02d}.txt").write_text(f"메모 {i}번입니다. 회의는 {i + 1}시에 합니다.")
    ingestor = Ingestor(store, embeddings, chunk_tokens=64, chunk_overlap=8, max_file_bytes=10**6)
    counting = CountingTokenizer(ingestor.chunker.tokenizer)
    ingestor.chunker.tokenizer = counting
    report = ingestor.ingest([folder], collection="default")
    assert len(report.ingested) == 12 and report.chunks_embedded == 12
    assert counting.calls < 12


@pytest.mark.parametrize(
    ("name", "text"),
    [("a.txt", "a" * 2_000_000), ("가.txt", "가나다라마바사" * 250_000)],
    ids=["one letter", "one word"],
)
def test_repetitive_text_is_refused_after_bounded_work(
    store: Store, embeddings, tmp_path, name: str, text: str
):
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / name).write_text(text, encoding="utf-8")
    (folder / "ok.txt").write_text("정상적인 문서입니다.", encoding="utf-8")
    ingestor = Ingestor(
        store, embeddings, chunk_tokens=256, chunk_overlap=32, max_file_bytes=10**8,
        limits=Limits(max_chunks_per_file=200),
    )  # fmt: skip
    counting = CountingTokenizer(ingestor.chunker.tokenizer)
    ingestor.chunker.tokenizer = counting
    report = ingestor.ingest([folder], collection="default")
    assert [Path(f.path).name for f in report.failed] == [name]
    assert "more than 200 chunks (ingest.max_chunks_per_file)" in report.failed[0].error
    assert [Path(p).name for p in report.ingested] == ["ok.txt"]
    assert counting.chars < 100_000  # not the megabytes of the file
