"""``bllossom-rag store copy --to postgresql://...``: counts and search results survive the move.

The source is a real ingest (``examples/`` plus a picture with a sidecar caption, restricted
documents too) into the embedded store; the target a fresh PostgreSQL database. After the
copy every command works against the target from another data folder, and every retrieval
mode returns the same chunks with the same scores for every caller; a second copy writes
nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from devkit.models import EXAMPLES
from rag.access import OPERATOR, PUBLIC, Access
from rag.retrieval.retriever import StoreRetriever
from rag.store import DocumentStore, Store
from rag.store.postgres import PostgresStore
from tests.support.canary import CANARY
from tests.support.cli import Cli
from tests.support.stores import keyword_hits

QUERIES = (
    "입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?",
    "How long must passwords be?",
    "출장 경비 정산",
    "a purple chart of sales",
    "푸른고래 출시 코드",
)


def results(store: DocumentStore, embeddings, mode: str, access: Access) -> list[list[tuple]]:
    retriever = StoreRetriever(
        store=store, embeddings=embeddings, collection="default", k=5, mode=mode, access=access
    )
    return [[(h.chunk.id, round(h.score, 4)) for h in retriever.search(query)] for query in QUERIES]


@pytest.mark.slow
def test_store_copy_keeps_counts_and_results(cli: Cli, store_url: str, embeddings, tmp_path: Path):
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    Image.new("RGB", (64, 48), (120, 40, 200)).save(pictures / "chart.png")
    (pictures / "chart.png.txt").write_text("A purple chart of sales by quarter.", encoding="utf-8")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "launch.md").write_text(CANARY, encoding="utf-8")
    assert cli("ingest", str(EXAMPLES), str(pictures)).exit_code == 0
    assert cli("ingest", str(secret), "--groups", "hr").exit_code == 0

    copied = cli.json("store", "copy", "--to", store_url)
    [collection] = copied["collections"]
    assert collection["copied"] == collection["documents"] > 5
    assert collection["images"] == 1 and collection["missing_images"] == 0
    assert (collection["target_documents"], collection["target_chunks"]) == (
        collection["documents"],
        collection["chunks"],
    )
    again = cli.json("store", "copy", "--to", store_url)
    assert again["collections"][0]["copied"] == 0  # idempotent: nothing rewritten

    with Store(cli.data_dir) as source, PostgresStore(store_url, tmp_path / "other") as target:
        for access in (PUBLIC, Access.for_groups(["hr"]), OPERATOR):
            ours, theirs = source.collections(access)[0], target.collections(access)[0]
            assert (ours.documents, ours.chunks, ours.images) == (
                theirs.documents,
                theirs.chunks,
                theirs.images,
            )
            for mode in ("dense", "bm25", "hybrid"):
                assert results(source, embeddings, mode, access) == results(
                    target, embeddings, mode, access
                ), (mode, access)
        [figure] = [
            h.chunk
            for h in keyword_hits(target, "default", "purple chart", 5)
            if h.chunk.kind == "image"
        ]
        assert figure.image_sha256 is not None
        assert target.images.open(figure.image_sha256).size == (64, 48)
        sources = sorted(d.source_path for d in source.documents("default"))

    # Every command works unchanged on the copy, from another data folder.
    shared = Cli({**cli.env, "BLLOSSOM_RAG_DATA_DIR": str(tmp_path / "instance-b"),
                  "BLLOSSOM_RAG_STORE__URL": store_url})  # fmt: skip
    listed = shared.json("docs", "list")
    assert sorted(d["source"] for d in listed) == sources
