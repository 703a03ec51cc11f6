"""A folder source: its globs, the access rules, and the documents it never removes by mistake."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

from tests.support.cli import Cli


def sync(
    cli: Cli, *sources: dict, options: tuple[str, ...] = (), **env: str
) -> tuple[int, dict[str, dict]]:
    result = cli("sync", "--json", *options, BLLOSSOM_RAG_SOURCES=json.dumps(list(sources)), **env)
    reports = {r["name"]: r for r in json.loads(result.stdout)["sources"]}
    return result.exit_code, reports


def test_a_folder_is_synced_with_its_globs_and_the_access_rules(cli: Cli, tmp_path: Path):
    share = tmp_path / "share"
    (share / "인사").mkdir(parents=True)
    (share / "drafts").mkdir()
    (share / "인사" / "급여.md").write_text("# 급여\n\n급여는 매월 25일에 지급됩니다.\n")
    (share / "공지.md").write_text("# 공지\n\n식당은 8시에 엽니다.\n")
    (share / "drafts" / "plan.md").write_text("# Plan\n\nNot ready.\n")
    (share / "notes.txt").write_text("Kept out by the include globs.")
    source = {"name": "share", "type": "folder", "path": str(share), "include": ["**/*.md"]}
    rules = {"BLLOSSOM_RAG_ACCESS__RULES": json.dumps([{"path": "인사/**", "groups": ["hr"]}])}
    source["exclude"] = ["drafts/**"]
    code, reports = sync(cli, source, options=("--workers", "2"), **rules)  # rules in workers
    assert code == 0
    assert sorted(Path(p).name for p in reports["share"]["ingested"]) == ["공지.md", "급여.md"]
    groups = {Path(d["source"]).name: d["groups"] for d in cli.json("docs", "list")}
    assert groups == {"급여.md": ["hr"], "공지.md": []}
    exported = tmp_path / "audit.jsonl"
    assert cli("audit", "export", str(exported)).exit_code == 0
    trail = [json.loads(line) for line in exported.read_text().splitlines()]
    [entry] = [e for e in trail if e["action"] == "sync"]
    assert (entry["surface"], entry["detail"]["source"], entry["detail"]["ingested"]) == (
        "sync",
        "share",
        2,
    )

    (share / "공지.md").unlink()
    (share / "drafts" / "plan.md").rename(share / "plan.md")
    code, reports = sync(cli, source, **rules)
    assert [Path(p).name for p in reports["share"]["removed"]] == ["공지.md"]
    assert [Path(p).name for p in reports["share"]["ingested"]] == ["plan.md"]
    assert reports["share"]["chunks_embedded"] > 0


def test_an_emptied_or_missing_folder_keeps_its_documents(cli: Cli, tmp_path: Path):
    share = tmp_path / "share"
    share.mkdir()
    (share / "a.md").write_text("# A\n\nAlpha.\n")
    source = {"name": "share", "type": "folder", "path": str(share)}
    assert sync(cli, source)[0] == 0
    for file in share.iterdir():
        file.unlink()  # what an unmounted share looks like
    code, reports = sync(cli, source)
    assert code == 1 and reports["share"]["status"] == "failed"
    assert "its 1 documents were kept" in reports["share"]["error"]
    shutil.rmtree(share)
    code, reports = sync(cli, source)
    assert reports["share"]["error"] == (
        f"source 'share': {share} is not a folder (not mounted?); its documents were kept"
    )
    assert len(cli.json("docs", "list")) == 1


def test_a_source_being_synced_elsewhere_is_skipped(cli: Cli, tmp_path: Path):
    share = tmp_path / "share"
    share.mkdir()
    (share / "a.md").write_text("# A\n\nAlpha.\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "b.md").write_text("# B\n\nBeta.\n")
    locks = cli.data_dir / "sources"
    locks.mkdir(parents=True)
    held = os.open(locks / ".share.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        code, reports = sync(
            cli,
            {"name": "share", "type": "folder", "path": str(share)},
            {"name": "other", "type": "folder", "path": str(other)},
        )
    finally:
        os.close(held)
    assert code == 1
    assert reports["share"]["error"] == "another sync of 'share' is running; this one was skipped"
    assert reports["other"]["status"] == "ok" and len(reports["other"]["ingested"]) == 1
