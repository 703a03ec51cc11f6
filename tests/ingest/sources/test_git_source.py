"""A git source against a real local repository: a new commit between two syncs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.cli import Cli


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def write(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")


def sync(cli: Cli, source: dict) -> dict:
    result = cli("sync", "--json", BLLOSSOM_RAG_SOURCES=json.dumps([source]))
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.stdout)["sources"]
    return report


def test_a_repository_is_synced_through_a_new_commit(cli: Cli, tmp_path: Path):
    repo = tmp_path / "handbook"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(
        repo,
        {
            "docs/leave.md": "# 휴가\n\n연차는 입사 첫해에 11일입니다.\n",
            "docs/security.md": "# Security\n\nPasswords must be at least 12 characters.\n",
            "docs/old.md": "# 구버전\n\n이 문서는 곧 지워집니다.\n",
            "src/app.txt": "code that the include globs leave out",
        },
    )
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "first")
    git(repo, "checkout", "-q", "-b", "draft")  # another branch, not synced
    write(repo, {"docs/draft.md": "# 초안\n\n아직 공개하지 않습니다.\n"})
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "draft")
    git(repo, "checkout", "-q", "main")
    source = {
        "name": "handbook",
        "type": "git",
        "url": str(repo),
        "branch": "main",
        "include": ["docs/**"],
        "collection": "handbook",
    }
    first = sync(cli, source)
    assert first["commit"] == git(repo, "rev-parse", "main")
    names = {Path(path).name for path in first["ingested"]}
    assert names == {"leave.md", "security.md", "old.md"}, first

    write(
        repo,
        {
            "docs/leave.md": "# 휴가\n\n연차는 입사 첫해에 15일입니다.\n",
            "docs/new.md": "# 새 문서\n\n회의실 예약은 사내 포털에서 합니다.\n",
        },
    )
    (repo / "docs/old.md").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "second")
    second = sync(cli, source)
    assert second["commit"] == git(repo, "rev-parse", "main") != first["commit"]
    assert {Path(p).name for p in second["ingested"]} == {"leave.md", "new.md"}
    assert [Path(p).name for p in second["removed"]] == ["old.md"]
    assert [Path(p).name for p in second["unchanged"]] == ["security.md"]
    documents = {
        Path(d["source"]).name for d in cli.json("docs", "list", "--collection", "handbook")
    }
    assert documents == {"leave.md", "new.md", "security.md"}  # no draft, no src/
    status = cli.json("sync", "--json", BLLOSSOM_RAG_SOURCES=json.dumps([source]))
    assert status["sources"][0]["chunks_embedded"] == 0  # the same commit embeds nothing


def test_a_repository_that_cannot_be_fetched_fails_in_one_line(cli: Cli, tmp_path: Path):
    source = {"name": "gone", "type": "git", "url": str(tmp_path / "nowhere")}
    result = cli("sync", "--json", BLLOSSOM_RAG_SOURCES=json.dumps([source]))
    assert result.exit_code == 1
    [report] = json.loads(result.stdout)["sources"]
    assert report["status"] == "failed" and report["ingested"] == []
    assert report["error"].startswith("source 'gone': git clone failed: ")
    assert "\n" not in report["error"]
