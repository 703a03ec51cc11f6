"""One of two processes ingesting into and querying one PostgreSQL collection at once.

Run by ``tests/rag/store/test_postgres_processes.py``: ``python -m tests.support.postgres_child URL
DATA_DIR NAME PEER FOLDER MARKERS``. It ingests its files one at a time (one commit each) into
collection ``shared``, after each commit searches for what it has written so far (hybrid and BM25
must find each of its own files by its unique word), then marks itself done, waits for its peer's
mark and searches for the peer's words, without reopening anything. It prints one JSON
line: what it found.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from devkit.models import EMBEDDING_MODEL
from ingest.pipeline import Ingestor
from rag.access import PUBLIC, Access
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.retrieval.retriever import StoreRetriever
from rag.store.postgres import PostgresStore
from tests.support.stores import keyword_hits


def word(name: str, i: int) -> str:
    return f"{name}word{i}"


def main() -> None:
    url, data_dir, name, peer, folder, markers = sys.argv[1:7]
    embeddings = SentenceTransformerEmbeddings.load(EMBEDDING_MODEL, device="cpu")
    files = sorted(Path(folder).iterdir())
    found_own: list[bool] = []
    with PostgresStore(url, Path(data_dir)) as store:
        ingestor = Ingestor(store, embeddings, chunk_tokens=128, chunk_overlap=16,
                            max_file_bytes=100_000)  # fmt: skip
        for i, path in enumerate(files):
            ingestor.ingest([path], collection="shared", groups=["hr"] if i % 2 else [])
            for mode in ("bm25", "hybrid"):
                retriever = StoreRetriever(store=store, embeddings=embeddings, collection="shared",
                                           k=3, mode=mode, access=store_access(i))  # fmt: skip
                top = retriever.invoke(word(name, i))
                found_own.append(bool(top) and Path(top[0].metadata["source"]).name == path.name)
        Path(markers, name).touch()
        deadline = time.monotonic() + 300
        while not Path(markers, peer).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        found_peer = []
        for i in range(len(files)):
            hits = keyword_hits(store, "shared", word(peer, i), 1, store_access(i))
            found_peer.append(bool(hits) and hits[0].chunk.source_path.endswith(f"{peer}-{i}.md"))
        print(json.dumps({"own": found_own, "peer": found_peer}))


def store_access(i: int) -> Access:
    """Odd files are restricted to hr, and searched for as a member of hr."""
    return Access.for_groups(["hr"]) if i % 2 else PUBLIC


if __name__ == "__main__":
    main()
