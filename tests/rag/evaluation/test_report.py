"""The knowledge report: what was asked and not answered, per viewer, from the audit trail."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from rag.access import OPERATOR, Access
from rag.access.audit import AuditLog
from rag.evaluation.feedback import Feedback
from rag.evaluation.report import group_questions, knowledge_report
from rag.store import Store
from tests.support.cli import Cli
from tests.support.stores import put_document

WEATHER = ("내일 부산 날씨 어때요?", "부산 날씨 알려 줘", "이번 주말 부산 날씨는?")
PARKING = "회사 주차장은 어디에 있나요?"


@pytest.fixture
def trail(store: Store) -> Store:
    """Questions on four surfaces: some answered from public or hr documents, some not."""
    for name in ("leave.md", "travel.md", "unused.md"):
        put_document(store, name)
    put_document(store, "salaries.md", groups=("hr",))
    put_document(store, "hr-unused.md", groups=("hr",))
    log = AuditLog(store)
    asked = [
        ("cli", "연차는 며칠인가요?", ["leave.md"], 1.0),
        ("web", "연차 신청은 어떻게 하나요?", ["leave.md"], 2.0),
        ("api", "출장비는 언제 청구하나요?", ["travel.md", "leave.md"], 3.0),
        ("web", "올해 연봉 인상률은?", ["salaries.md"], 4.0),
        ("web", WEATHER[0], [], 0.5),
        ("api", WEATHER[1], [], 0.5),
        ("cli", WEATHER[0], [], 0.5),
        ("web", WEATHER[2], [], 0.5),
        ("web", PARKING, [], 0.5),
    ]
    for surface, question, documents, seconds in asked:
        log.answered(
            who="someone",
            surface=surface,  # type: ignore[arg-type]
            collection="c",
            question=question,
            documents=documents,
            detail={"answered": bool(documents), "seconds": seconds},
        )
    log.answered(
        who="k",
        surface="retrieve",
        collection="c",
        question="연차",
        documents=["leave.md"],
        detail={"answered": True, "seconds": 0.1},
        action="retrieve",
    )
    return store


def test_the_operator_sees_every_question_grouped_gaps_citations_and_latency(trail: Store):
    report = knowledge_report(trail, [], OPERATOR, since=0.0)
    assert (report.asked, report.answered, report.not_answered) == (10, 5, 5)
    assert report.surfaces == {"web": 5, "api": 2, "cli": 2, "retrieve": 1}
    [today] = report.days
    assert (today.asked, today.answered) == (10, 5)
    groups = [(g.questions, g.asked) for g in report.unanswered]
    assert groups == [((WEATHER[0], WEATHER[1], WEATHER[2]), 4), ((PARKING,), 1)]
    assert [(u.document_id, u.cited) for u in report.most_cited][:2] == [
        ("leave.md", 4),
        ("travel.md", 1),
    ]
    assert {u.document_id for u in report.never_cited} == {"unused.md", "hr-unused.md"}
    seconds = [1.0, 2.0, 3.0, 4.0, 0.5, 0.5, 0.5, 0.5, 0.5]  # answers only, not the retrieve
    assert report.latency_p50 == pytest.approx(float(np.percentile(seconds, 50)))
    assert report.latency_p95 == pytest.approx(float(np.percentile(seconds, 95)))
    listed = report.to_json()["unanswered"]
    assert listed[0]["questions"] == list(WEATHER) and listed[0]["asked"] == 4


def test_a_viewer_sees_only_what_they_may_read(trail: Store):
    public = knowledge_report(trail, [], Access(), since=0.0)
    assert public.asked == 9  # the question shown the hr document is not theirs to see
    assert "salaries.md" not in {u.document_id for u in public.most_cited}
    assert {u.document_id for u in public.never_cited} == {"unused.md"}
    hr = knowledge_report(trail, [], Access.for_groups(["hr"]), since=0.0)
    assert hr.asked == 10 and "salaries.md" in {u.document_id for u in hr.most_cited}
    trail.remove_documents("c", ["salaries.md"])  # gone: who may read it cannot be checked
    assert knowledge_report(trail, [], Access.for_groups(["hr"]), since=0.0).asked == 9
    later = knowledge_report(trail, [], OPERATOR, since=time.time() + 60)
    assert (later.asked, later.unanswered, later.days) == (0, (), ())


def test_thumbs_per_collection_count_only_readable_sources(trail: Store):
    def rating(path: str, value: int) -> Feedback:
        return Feedback("c", "q", (), "a [1]", ({"source": path},), value, at=time.time())

    ratings = [
        rating("/docs/leave.md", 1),
        rating("/docs/leave.md", 1),
        rating("/docs/travel.md", -1),
        rating("/docs/salaries.md", -1),
    ]
    assert knowledge_report(trail, ratings, Access(), since=0.0).feedback == {"c": (2, 1)}
    assert knowledge_report(trail, ratings, OPERATOR, since=0.0).feedback == {"c": (2, 2)}


def test_a_trail_of_hashes_groups_identical_questions_without_text(store: Store):
    log = AuditLog(store, questions="hash")
    for question in (WEATHER[0], WEATHER[0], PARKING):
        log.answered(
            who="x",
            surface="web",
            collection="c",
            question=question,
            documents=[],
            detail={"answered": False},
        )
    groups = group_questions(store.audit_entries())
    assert [(g.questions, g.asked) for g in groups] == [((), 2), ((), 1)]


def test_report_json_on_the_command_line(examples_cli: Cli):
    for question in ("내일 부산 날씨 어때요?", "부산 날씨 알려 줘", "How long must passwords be?"):
        assert examples_cli("ask", question).exit_code == 0
    report = examples_cli.json("report", "--since", "1h")
    assert report["asked"] == 3 and report["answered"] == 1
    assert [group["questions"] for group in report["unanswered"]] == [
        ["내일 부산 날씨 어때요?", "부산 날씨 알려 줘"]
    ]
    assert report["most_cited"][0]["source"].endswith("security-policy.md")
    text = examples_cli("report")
    assert text.exit_code == 0 and "부산 날씨 알려 줘" in text.output
    assert examples_cli("report", "--since", "yesterday").exit_code == 1


def test_an_empty_trail_reports_nothing(tmp_path: Path):
    with Store(tmp_path / "data") as empty:
        report = knowledge_report(empty, [], OPERATOR, since=0.0)
    assert (report.asked, report.latency_p50, report.unanswered) == (0, None, ())
