"""A small team share for access tests: a notice for everyone, a secret an access rule gives to hr.

``team/공지.md`` says when the canteen opens; ``team/인사/암호.md`` holds :data:`CANARY`, which
only the ``hr`` group may read under :data:`RULES`. Scripted answers quote it exactly, so a test
sees at once whether a person was shown it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devkit.models import EMBEDDING_MODEL
from ingest.pipeline import Ingestor
from rag.config import Settings
from rag.embeddings.base import TextEmbeddings
from rag.store import Store

CANARY = "코끼리 보라색 암호는 7391입니다"
RULES = [{"path": "인사/**", "groups": ["hr"]}]


def team_folder(root: Path) -> Path:
    """Write ``root/team`` and return it."""
    team = root / "team"
    (team / "인사").mkdir(parents=True)
    (team / "공지.md").write_text("# 사내 공지\n\n식당은 12시에 엽니다.", encoding="utf-8")
    (team / "인사" / "암호.md").write_text(f"# 인사 기밀\n\n{CANARY}.", encoding="utf-8")
    return team


def team_store(root: Path, embeddings: TextEmbeddings, **more: Path) -> Path:
    """``team/`` ingested under :data:`RULES` into collection ``team`` (and each of ``more``,
    collection name -> folder, into its own) in ``root/data``; that data folder."""
    data = root / "data"
    settings = Settings(
        data_dir=data, embedding={"model": EMBEDDING_MODEL}, access={"rules": RULES}
    )
    with Store(data) as store:
        ingestor = Ingestor.from_settings(settings, store, embeddings)
        for collection, folder in {"team": team_folder(root), **more}.items():
            ingestor.ingest([folder], collection=collection)
    return data


def team_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's settings for the team store: the rule, groups from the claim, scripted answers."""
    for name, value in {
        "ACCESS__RULES": json.dumps(RULES),
        "UI__GROUPS_CLAIM": "groups",
        "GENERATION__SCRIPTED_ANSWER": "{1} [1]",
    }.items():
        monkeypatch.setenv(f"BLLOSSOM_RAG_{name}", value)
