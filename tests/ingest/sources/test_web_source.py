"""A site source against a real HTTP server: an intranet synced through changes, and traps.

The server (:mod:`tests.support.intranet`) logs every request with its status and the body
bytes it sent, so the tests see what the second sync downloaded, not only what it reported.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devkit.corpus import korean_pdf
from tests.support.cli import Cli
from tests.support.intranet import HTML, Intranet, page


@pytest.fixture
def intranet(tmp_path: Path):
    with Intranet(korean_pdf(tmp_path / "handbook.pdf")) as server:
        yield server


def sources(*tables: dict) -> dict[str, str]:
    return {"BLLOSSOM_RAG_SOURCES": json.dumps(list(tables))}


def synced(cli: Cli, env: dict[str, str], *names: str) -> dict[str, dict]:
    result = cli("sync", *names, "--json", **env)
    return {report["name"]: report for report in json.loads(result.stdout)["sources"]}


def test_an_intranet_is_synced_through_a_change_and_a_deletion(cli: Cli, intranet: Intranet):
    base = intranet.base
    env = sources({"name": "wiki", "type": "web", "url": f"{base}/wiki/", "allow_private": True})
    first = synced(cli, env)["wiki"]
    pages = {
        f"{base}/wiki/",
        f"{base}/wiki/hr/leave.html",
        f"{base}/wiki/security",
        f"{base}/wiki/en/expenses.html",
        f"{base}/wiki/files/handbook.pdf",
        f"{base}/wiki/notice.html",  # only in the sitemap
    }
    assert set(first["ingested"]) == pages, first
    assert first["failed"] == [] and first["removed"] == [] and first["status"] == "ok"
    assert "1 pages refused by robots.txt" in first["notes"]
    outside = f"links outside 127.0.0.1:{intranet.server.server_port}/wiki/ not followed"
    assert any(note.endswith(outside) for note in first["notes"])
    assert not intranet.site.requests("/wiki/private/") and not intranet.site.requests("/admin/")

    intranet.site.change(
        "/wiki/hr/leave.html",
        HTML,
        page("휴가 정책", "<p>입사 첫해에는 연차 휴가를 최대 15일까지 쓸 수 있습니다.</p>"),
    )
    intranet.site.remove("/wiki/en/expenses.html")
    intranet.site.clear_log()
    second = synced(cli, env)["wiki"]
    assert second["ingested"] == [f"{base}/wiki/hr/leave.html"]
    assert second["removed"] == [f"{base}/wiki/en/expenses.html"]
    assert set(second["unchanged"]) == pages - {
        f"{base}/wiki/hr/leave.html",
        f"{base}/wiki/en/expenses.html",
    }
    documents = cli.json("docs", "list")
    leave_doc = next(d for d in documents if d["source"].endswith("wiki/hr/leave.html"))
    assert 0 < second["chunks_embedded"] <= leave_doc["chunks"]
    # Unchanged pages were asked for conditionally and answered without a body.
    served = {r.path: r for r in intranet.site.requests("/wiki/")}
    for url in second["unchanged"]:
        path = url.removeprefix(base)
        assert served[path].status == 304 and served[path].body_bytes == 0, served[path]
    assert served["/wiki/hr/leave.html"].status == 200
    assert served["/wiki/en/expenses.html"].status == 404

    answer = cli.json(
        "ask",
        "입사 첫해 연차 휴가는 최대 며칠인가요?",
        BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER="{1} [1]",
    )
    assert answer["answer"].endswith("[1]")
    assert answer["sources"][0]["source"].endswith("wiki/hr/leave.html")
    assert (
        "최대 15일" in answer["sources"][0]["text"] and "11일" not in answer["sources"][0]["text"]
    )
    record = synced(cli, env)["wiki"]  # a third sync changes nothing
    assert record["ingested"] == record["removed"] == [] and record["chunks_embedded"] == 0


def test_a_private_address_needs_allow_private(cli: Cli, intranet: Intranet):
    env = sources({"name": "wiki", "type": "web", "url": f"{intranet.base}/wiki/"})
    report = synced(cli, env)["wiki"]
    assert report["ingested"] == [] and not intranet.site.requests()
    [failure] = report["failed"]
    assert failure == {
        "path": f"{intranet.base}/wiki/",
        "error": "the address 127.0.0.1 is private or local; set allow_private = true for an "
        "intranet source",
    }


def test_hostile_pages_fail_alone_with_one_line_each(cli: Cli, intranet: Intranet):
    base = intranet.base
    trap = {
        "name": "trap",
        "type": "web",
        "url": f"{base}/trap/",
        "allow_private": True,
        "max_pages": 25,
        "page_timeout_s": 3,
        "max_page_bytes": 5_000_000,
    }
    wiki = {"name": "wiki", "type": "web", "url": f"{base}/wiki/", "allow_private": True}
    reports = synced(cli, sources(trap, wiki))
    report = reports["trap"]
    assert f"{base}/trap/ok.html" in report["ingested"]
    errors = {failure["path"].removeprefix(base): failure["error"] for failure in report["failed"]}
    assert errors["/trap/loop-a"].startswith("redirect loop (")
    assert errors["/trap/away"] == (
        f"redirects to http://localhost:{intranet.server.server_port}/elsewhere/, outside the "
        "source's scope (not followed)"
    )
    assert errors["/trap/huge.pdf"] == (
        "the response passed the 5,000,000-byte limit (max_page_bytes); not read further"
    )
    assert errors["/trap/huge-declared.pdf"] == (
        "the response is 1,073,741,824 bytes, over the 5,000,000-byte limit (max_page_bytes)"
    )
    assert errors["/trap/drip.html"] == "no complete answer within 3 s (page_timeout_s)"
    assert all("\n" not in error for error in errors.values())
    assert any(note.startswith("stopped after 25 requests (max_pages)") for note in report["notes"])
    assert report["status"] == "partial" and report["error"] is None
    # The endless calendar cost its share of requests and no more; nothing left the scope.
    assert len(intranet.site.requests("/trap/calendar")) < 25
    assert not intranet.site.requests("/elsewhere/")
    huge = [r for r in intranet.site.requests("/trap/huge") if r.status == 200]
    assert huge and all(r.body_bytes < 1024**3 for r in huge)
    # The other source went on.
    assert reports["wiki"]["status"] == "ok" and len(reports["wiki"]["ingested"]) == 6


def test_an_endless_site_ends_at_each_limit_in_one_note(cli: Cli, intranet: Intranet):
    base = intranet.base
    trap = {"type": "web", "url": f"{base}/trap/", "allow_private": True, "page_timeout_s": 2}
    deep = {**trap, "name": "deep", "max_depth": 2}
    heavy = {**trap, "name": "heavy", "max_bytes": 300_000, "max_page_bytes": 5_000_000}
    slow = {**trap, "name": "slow", "max_seconds": 1, "page_timeout_s": 30}
    wiki = {"name": "wiki", "type": "web", "url": f"{base}/wiki/", "allow_private": True}

    reports = synced(cli, sources(deep, heavy, slow, wiki))

    assert "links deeper than max_depth (2) not followed" in " ".join(reports["deep"]["notes"])
    assert any(
        note.startswith("stopped when 300,000 bytes were downloaded (max_bytes)")
        for note in reports["heavy"]["notes"]
    ), reports["heavy"]["notes"]
    assert any(
        note.startswith("stopped after 1 s (max_seconds)") for note in reports["slow"]["notes"]
    ), reports["slow"]["notes"]
    for name in ("deep", "heavy", "slow"):
        report = reports[name]
        assert report["error"] is None and all("\n" not in n for n in report["notes"]), report
    assert f"{base}/trap/ok.html" in reports["deep"]["ingested"]
    # The other source went on, and none of them left the scope.
    assert reports["wiki"]["status"] == "ok" and len(reports["wiki"]["ingested"]) == 6
    assert not intranet.site.requests("/elsewhere/")
