"""The command line on a shared PostgreSQL store: two instances, two data folders, one store.

Instance A ingests (public documents and a restricted canary); instance B, with its own data
folder and nothing ingested locally, evaluates, lists and removes; each sees the other's work
at once. The canary never reaches an outsider through ``eval``, and reaches a member of its
group.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.models import EXAMPLES
from tests.support.canary import CANARY, write_canary_queries
from tests.support.cli import Cli


@pytest.mark.slow
def test_two_instances_share_one_store(cli: Cli, store_url: str, tmp_path: Path):
    a = Cli({**cli.env, "BLLOSSOM_RAG_STORE__URL": store_url,
             "BLLOSSOM_RAG_DATA_DIR": str(tmp_path / "a")})  # fmt: skip
    b = Cli({**a.env, "BLLOSSOM_RAG_DATA_DIR": str(tmp_path / "b")})
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "launch.md").write_text(CANARY, encoding="utf-8")
    assert a.json("ingest", str(EXAMPLES))["ingested"]
    assert a.json("ingest", str(secret), "--groups", "hr")["ingested"]

    queries = write_canary_queries(tmp_path / "canary.jsonl")
    for mode in ("dense", "bm25", "hybrid"):
        outsider = b.json("eval", str(queries), "--mode", mode)
        insider = b.json("eval", str(queries), "--mode", mode, "--user-groups", "hr")
        assert outsider["n"] == insider["n"] == 4
        assert outsider["recall@10"] == 0.0, mode
        assert insider["recall@1"] == 1.0, mode

    listed = {Path(d["source"]).name for d in b.json("docs", "list")}
    assert {"launch.md", "휴가_정책.md"} <= listed
    removed = b("docs", "remove", str(secret / "launch.md"))
    assert removed.exit_code == 0, removed.output
    assert "launch.md" not in {Path(d["source"]).name for d in a.json("docs", "list")}
    assert not (tmp_path / "b" / "store.sqlite3").exists()  # nothing local but caches
