"""Access control inside the search: a restricted canary never reaches a caller outside its group.

The canary is a document restricted to ``hr`` whose sentences are quoted verbatim by every
query, so every search mode ranks it first for a caller who may read it (checked too, so the
test can fail). For everyone else it must never come back, in any mode, through the reranker,
the document listing, or the ``eval`` command, and the reranker must never even read it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from devkit.models import EXAMPLES
from ingest.pipeline import Ingestor
from rag.access import OPERATOR, PUBLIC, Access
from rag.retrieval.rerank import CrossEncoderReranker
from rag.retrieval.retriever import StoreRetriever
from rag.store import (
    DocumentRecord,
    DocumentStore,
    DocumentUpdate,
    IndexPolicy,
    NewChunk,
    SearchHit,
    Store,
)
from rag.store.visibility import Visible
from tests.support.canary import CANARY, canary_queries, write_canary_queries
from tests.support.cli import Cli
from tests.support.stores import BACKENDS, open_backend

MODES = ("dense", "bm25", "hybrid")
OUTSIDERS = (PUBLIC, Access.for_groups(["legal"]), Access.for_groups(["sales", "legal"]))


@pytest.fixture(scope="module", params=BACKENDS)
def library(
    request: pytest.FixtureRequest, embeddings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DocumentStore]:
    root = tmp_path_factory.mktemp("access")
    secret = root / "secret"
    secret.mkdir()
    (secret / "launch.md").write_text(f"# 출시 계획\n\n{CANARY}\n", encoding="utf-8")
    with open_backend(request, request.param, root / "data") as store:
        ingestor = Ingestor(
            store, embeddings, chunk_tokens=256, chunk_overlap=32, max_file_bytes=1_000_000
        )
        ingestor.ingest([EXAMPLES], collection="docs")
        ingestor.ingest([secret], collection="docs", groups=["hr"])
        yield store


class RecordingReranker(CrossEncoderReranker):
    """The real cross-encoder, remembering every passage it was shown."""

    seen: list[str]

    def rerank(self, query: str, hits: Sequence[SearchHit]) -> list[SearchHit]:
        self.seen.extend(hit.chunk.text for hit in hits)
        return super().rerank(query, hits)


@pytest.fixture(scope="module")
def reranker(tiny_cross_encoder: Path) -> RecordingReranker:
    model = RecordingReranker.load(str(tiny_cross_encoder), device="cpu")
    model.seen = []
    return model


def is_canary(source: str) -> bool:
    return source.endswith("launch.md")


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_canary_never_reaches_outsiders(library: DocumentStore, embeddings, mode: str):
    queries = canary_queries()
    for access in OUTSIDERS:
        retriever = StoreRetriever(
            store=library, embeddings=embeddings, collection="docs", k=10, mode=mode, access=access
        )
        for query in queries:
            sources = [d.metadata["source"] for d in retriever.invoke(query)]
            assert sources, "outsiders still get the public documents"
            assert not any(is_canary(s) for s in sources), (mode, access, query)
    insider = StoreRetriever(
        store=library,
        embeddings=embeddings,
        collection="docs",
        k=10,
        mode=mode,
        access=Access.for_groups(["hr", "legal"]),
    )
    found_first = [is_canary(insider.invoke(q)[0].metadata["source"]) for q in queries]
    assert found_first[0], "the whole canary quoted must rank first for a member of hr"
    assert sum(found_first) >= 0.8 * len(queries)


@pytest.mark.slow
def test_reranker_never_reads_restricted_chunks(library: DocumentStore, embeddings, reranker):
    for access in (*OUTSIDERS, Access.for_groups(["hr"])):
        reranker.seen.clear()
        retriever = StoreRetriever(
            store=library,
            embeddings=embeddings,
            collection="docs",
            k=3,
            access=access,
            reranker=reranker,
            rerank_top_n=50,
        )
        for query in canary_queries()[:6]:
            assert len(retriever.invoke(query)) == 3
        leaked = [text for text in reranker.seen if "VIOLET-HARBOR" in text]
        assert bool(leaked) == (access.groups == {"hr"}), access


@pytest.mark.slow
def test_listing_hides_restricted_documents(library: DocumentStore):
    def listed(access: Access) -> set[str]:
        return {Path(d.source_path).name for d in library.documents("docs", access)}

    assert "launch.md" in listed(OPERATOR)
    assert "launch.md" in listed(Access.for_groups(["hr"]))
    for access in OUTSIDERS:
        names = listed(access)
        assert "launch.md" not in names
        assert "휴가_정책.md" in names


@pytest.mark.slow
def test_collection_counts_cover_only_readable_documents(library: DocumentStore):
    def counts(access: Access) -> tuple[int, int]:
        [info] = library.collections(access)
        return info.documents, info.chunks

    public_documents = library.documents("docs", PUBLIC)
    secret_chunks = sum(d.chunks for d in library.documents("docs")) - sum(
        d.chunks for d in public_documents
    )
    assert secret_chunks > 0
    everything = counts(OPERATOR)
    assert counts(Access.for_groups(["hr"])) == everything
    for access in OUTSIDERS:
        assert counts(access) == (everything[0] - 1, everything[1] - secret_chunks)
    assert library.collection("docs").chunks == everything[1]


@pytest.mark.parametrize("size", [1, 8, 9, 64, 1001])
def test_selector_admits_exactly_the_readable_ids_and_reads_only_its_bitmap(size: int):
    rng = np.random.default_rng(size)
    readable = np.union1d(np.flatnonzero(rng.random(size) < 0.5), [size - 1])
    visible = Visible.only(readable)
    selector = visible.selector
    # FAISS reads bitmap[id // 8] for every id with id // 8 < n, so n must be the array's size in
    # bytes: with n = the number of ids, ids above the last readable one read past the array and
    # garbage bits there let restricted vectors through (seen as a rare leak in the UI test).
    assert selector.n == (size + 7) // 8
    probe = range(8 * size + 64)
    assert [selector.is_member(i) for i in probe] == [i in set(readable.tolist()) for i in probe]


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["ivf-flat", "ivf-pq", "hnsw"])
def test_approximate_indexes_filter_inside_the_search(tmp_path: Path, kind: str):
    """Above the exact threshold the selector still hides restricted vectors, even exact copies."""
    dim, rng = 32, np.random.default_rng(7)
    public, secret = unit_rows(rng, 2400, dim), unit_rows(rng, 40, dim)

    def document(doc_id: str, rows: np.ndarray, groups: tuple[str, ...]) -> DocumentUpdate:
        record = DocumentRecord(
            id=doc_id,
            collection="c",
            source_path=f"/{doc_id}",
            content_sha256=doc_id,
            size=1,
            mtime=0.0,
            groups=groups,
        )
        chunks = [
            NewChunk(id=f"{doc_id}-{i}", ordinal=i, text=f"{doc_id} {i}", tokens=1, vector=row)
            for i, row in enumerate(rows)
        ]
        return DocumentUpdate(record, chunks)

    policy = IndexPolicy(exact_max=1000, large_kind=kind)  # type: ignore[arg-type]
    with Store(tmp_path, index_policy=policy) as store:
        store.ensure_collection("c", "synthetic", dim)
        updates = [document(f"pub{i}", public[i * 100 : (i + 1) * 100], ()) for i in range(24)]
        store.commit("c", [*updates, document("secret", secret, ("hr",))])
        assert store.dense_view("c").kind == kind
        for query in secret[:10]:
            outsider = store.search("c", query, 10, PUBLIC)
            assert len(outsider) == 10
            assert all(hit.chunk.document_id != "secret" for hit in outsider)
            insider = store.search("c", query, 1, Access.for_groups(["hr"]))
            assert insider[0].chunk.document_id == "secret"
        # A delete (HNSW: rebuild) keeps the index exact about what exists.
        store.remove_documents("c", ["pub0"])
        assert len(store.dense_view("c")) == 2400 + 40 - 100
        hits = store.search("c", public[5], 5, OPERATOR)
        assert all(hit.chunk.document_id != "pub0" for hit in hits)
        store.commit("c", [document("pub0", public[:100], ())])  # a re-add, no duplicates
        assert len(store.dense_view("c")) == 2400 + 40
        assert store.search("c", public[5], 1, OPERATOR)[0].chunk.id == "pub0-5"
    with Store(tmp_path, index_policy=policy) as store:  # the checkpoint keeps its kind
        view = store.dense_view("c")
        assert (view.kind, len(view)) == (kind, 2440)
        assert all(h.chunk.document_id != "secret" for h in store.search("c", secret[0], 10))


@pytest.mark.slow
def test_cli_eval_respects_user_groups(cli: Cli, tmp_path: Path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "launch.md").write_text(CANARY, encoding="utf-8")
    queries = write_canary_queries(tmp_path / "canary.jsonl")

    assert cli("ingest", str(secret), "--groups", "hr").exit_code == 0
    outsider = cli.json("eval", str(queries))
    insider = cli.json("eval", str(queries), "--user-groups", "hr,legal")
    assert outsider["n"] == insider["n"] == 4
    assert outsider["recall@10"] == 0.0
    assert insider["recall@1"] == 1.0
