"""Two processes ingest into and query one PostgreSQL collection at the same time.

Each process (:mod:`tests.support.postgres_child`, forked by :mod:`tests.support.forks`) commits its
files one by one into the same collection, half of them restricted, and searches after every commit;
then each finds the other's documents without reopening its store. Afterwards the collection holds
exactly both sets, and the access classes' counts (BM25's statistics) equal the rows they summarize.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest

from devkit.models import REPO
from rag.store.postgres import PostgresStore
from tests.support.forks import Forks

FILES = 6


def write_corpus(folder: Path, name: str) -> None:
    folder.mkdir()
    for i in range(FILES):
        (folder / f"{name}-{i}.md").write_text(
            f"# {name} {i}\n\nThis note mentions {name}word{i} and the weekly schedule.\n",
            encoding="utf-8",
        )


@pytest.mark.slow
def test_two_processes_ingest_and_query_one_collection(
    store_url: str, forks: Forks, tmp_path: Path
):
    markers = tmp_path / "markers"
    markers.mkdir()
    children = []
    for name, peer in (("alpha", "beta"), ("beta", "alpha")):
        write_corpus(tmp_path / name, name)
        arguments = [store_url, str(tmp_path / f"data-{name}"), name, peer]
        arguments += [str(tmp_path / name), str(markers)]
        children.append(
            forks.start(
                "tests.support.postgres_child",
                arguments,
                env=dict(os.environ),
                cwd=REPO,
                output=tmp_path / f"output-{name}",
            )
        )
    outputs = [child.wait() for child in children]
    for finished in outputs:
        assert finished.returncode == 0, finished.stderr[-3000:]
        seen = json.loads(finished.stdout.strip().splitlines()[-1])
        assert all(seen["own"]), seen
        assert all(seen["peer"]), seen
    with PostgresStore(store_url, tmp_path / "check") as store:
        documents = store.documents("shared")
        assert sorted(Path(d.source_path).name for d in documents) == sorted(
            f"{name}-{i}.md" for name in ("alpha", "beta") for i in range(FILES)
        )
        assert [c.seq for c in store.commits(100)] == sorted(
            (c.seq for c in store.commits(100)), reverse=True
        )
    with psycopg.connect(store_url) as conn:
        summary = conn.execute(
            "SELECT a.id, a.chunks, a.tokens, count(c.vector_id), COALESCE(sum(c.terms), 0) "
            "FROM access_classes a LEFT JOIN chunks c ON c.class_id = a.id GROUP BY a.id"
        ).fetchall()
    assert len(summary) == 2  # public and hr
    for _, chunks, tokens, counted, summed in summary:
        assert (chunks, tokens) == (counted, summed)
