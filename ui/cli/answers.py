"""What ``ask`` and ``chat`` share: streaming an answer to the terminal, then its sources.

Under the sources, one line says when the support check found cited sentences that the
passages they cite do not support (:mod:`rag.generation.support`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rag.generation.result import AnswerStream
from ui.cli.app import out, shown

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable

    from rag.generation.result import ChainResult, ImageUse, Source
    from rag.generation.support import SentenceSupport

SNIPPET_CHARS = 160


def stream_answer(chain: Runnable[Any, Any], inputs: dict[str, Any], *, echo: bool) -> ChainResult:
    """Run the chain; with ``echo``, print the answer as it streams.

    Returns:
        The whole turn: the answer, its documents, images and prompt.

    """
    stream = AnswerStream(chain, inputs)
    for piece in stream:
        if echo:
            out.out(shown(piece, keep="\n\t"), end="", highlight=False)
    return stream.result


def print_sources(sources: Sequence[Source], images: Sequence[ImageUse]) -> None:
    """The numbered passages under an answer, then what the prompt's images were."""
    out.print("\n")
    out.print("[bold]Sources[/]" if sources else "[dim]No sources found.[/]")
    for source in sources:
        where = f", p. {source.page}" if source.page is not None else ""
        snippet = " ".join(source.text.split())[:SNIPPET_CHARS]
        out.print(
            f"[{source.number}] {shown(source.source)}{where}  (relevance {source.relevance})"
        )
        out.print(f"    [dim]{shown(snippet)}[/]")
    for used in images:
        cited = "your image" if used.number is None else f"image of [{used.number}]"
        out.print(f"[dim]In the prompt:[/] {cited} {shown(used.source or '')}")


def print_support(support: Sequence[SentenceSupport]) -> None:
    """One line when a sentence of the answer is not supported by the passage it cites."""
    unsupported = [checked for checked in support if not checked.supported]
    if not unsupported:
        return
    cited = ", ".join(
        "[" + ",".join(str(n) for n in checked.sentence.citations) + "]" for checked in unsupported
    )
    out.print(
        f"[yellow]Check:[/] {len(unsupported)} of {len(support)} cited sentences are not "
        f"supported by the passages they cite ({cited}); open those sources before relying on them"
    )
