"""What ``ask`` and ``chat`` share: streaming an answer to the terminal, then its sources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ui.cli.app import out, shown

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable

    from rag.generation.chain import Source

SNIPPET_CHARS = 160


def stream_answer(
    chain: Runnable[Any, Any], inputs: dict[str, Any], *, echo: bool
) -> tuple[str, dict[str, Any]]:
    """Run the chain; with ``echo``, print the answer as it streams.

    Returns:
        The whole answer, and everything else the chain produced (documents, images, prompt).

    """
    state: dict[str, Any] = {}
    answer: list[str] = []
    for part in chain.stream(inputs):
        if "answer" in part:
            answer.append(part["answer"])
            if echo:
                out.out(shown(part["answer"], keep="\n\t"), end="", highlight=False)
        else:
            state.update(part)
    return "".join(answer), state


def print_sources(sources: Sequence[Source], images: Sequence[dict[str, Any]]) -> None:
    """The numbered passages under an answer, then what the prompt's images were."""
    out.print("\n")
    out.print("[bold]Sources[/]" if sources else "[dim]No sources found.[/]")
    for source in sources:
        where = f", p. {source.page}" if source.page is not None else ""
        snippet = " ".join(source.text.split())[:SNIPPET_CHARS]
        out.print(f"[{source.number}] {shown(source.source)}{where}  (score {source.score:.3f})")
        out.print(f"    [dim]{shown(snippet)}[/]")
    for used in images:
        cited = "your image" if used["number"] is None else f"image of [{used['number']}]"
        out.print(f"[dim]In the prompt:[/] {cited} {shown(used['source'] or '')}")
