"""``bllossom-rag report``: what the knowledge base was asked and could not answer.

The same report as the web app's dashboard (:mod:`rag.evaluation.report`), for the operator of
the store: every question on every surface, the unanswered ones grouped (the knowledge gaps),
the most and never cited documents, thumbs per collection, latency. ``--json`` prints it as one
object whose ``unanswered`` is a list of groups, each with the ``questions`` asked.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from rag.text.display import plural
from ui.cli.app import JsonOption, app, open_assistant, out, print_json, shown
from ui.cli.audit_command import parse_since

if TYPE_CHECKING:
    from rag.evaluation.report import KnowledgeReport

GROUPS_SHOWN = 15


@app.command()
def report(
    since: Annotated[str, typer.Option(help="The period: 7d, 24h, 30m, 2w (up to now).")] = "7d",
    as_json: JsonOption = False,
) -> None:
    """What was asked and not answered, which documents are cited, thumbs, latency."""
    from rag.access import OPERATOR
    from rag.evaluation.feedback import FeedbackLog
    from rag.evaluation.report import knowledge_report

    with open_assistant() as assistant:
        start = parse_since(since)
        ratings = FeedbackLog.in_data_dir(assistant.settings.data_dir).entries()
        found = knowledge_report(assistant.store, ratings, OPERATOR, start)
    if as_json:
        print_json(found.to_json())
        return
    print_report(found)


def print_report(found: KnowledgeReport) -> None:
    """The report for a terminal."""
    start = dt.datetime.fromtimestamp(found.since).strftime("%Y-%m-%d %H:%M")
    out.print(
        f"[bold]Since {start}[/]: {plural(found.asked, 'question')}, "
        f"{found.answered} answered, {found.not_answered} not in the documents"
    )
    if found.latency_p50 is not None:
        out.print(
            f"Answer time: median {found.latency_p50:.2f} s, "
            f"95th percentile {found.latency_p95:.2f} s"
        )
    if found.surfaces:
        out.print("By surface: " + ", ".join(f"{k} {v}" for k, v in found.surfaces.items()))
    for day in found.days:
        out.print(f"  {day.day}  {day.asked:>5} asked  {day.answered:>5} answered")
    out.print("\n[bold]Not answered[/] (alike questions together, most asked first)")
    if not found.unanswered:
        out.print("  [dim]none[/]")
    for group in found.unanswered[:GROUPS_SHOWN]:
        questions = " | ".join(shown(q) for q in group.questions) or "[dim](only hashes kept)[/]"
        out.print(
            f"  {group.asked:>4}x  {questions}  [dim]({shown(', '.join(group.collections))})[/]"
        )
    if len(found.unanswered) > GROUPS_SHOWN:
        out.print(f"  [dim]... {len(found.unanswered) - GROUPS_SHOWN} more groups (--json)[/]")
    out.print("\n[bold]Most cited[/]")
    for use in found.most_cited:
        out.print(f"  {use.cited:>4}x  {shown(use.collection)}/{shown(use.name)}")
    if not found.most_cited:
        out.print("  [dim]none[/]")
    out.print(f"\n[bold]Never cited[/]: {plural(found.never_cited_count, 'document')}")
    for use in found.never_cited[:GROUPS_SHOWN]:
        out.print(f"  {shown(use.collection)}/{shown(use.name)}")
    if found.feedback:
        out.print("\n[bold]Thumbs[/]")
        for name, (up, down) in found.feedback.items():
            out.print(f"  {shown(name)}: {up} up, {down} down")
