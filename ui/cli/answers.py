"""What ``ask`` and ``chat`` share: streaming an answer to the terminal, then its sources.

Under the sources, one line says when the support check found cited sentences that the
passages they cite do not support (:mod:`rag.generation.support`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ui.cli.app import out, shown

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable

    from rag.generation.result import ChainResult, ImageUse, Source
    from rag.generation.support import SentenceSupport

SNIPPET_CHARS = 160


@dataclass(frozen=True)
class SentSource:
    """A source as the RAG API sends it (``sources[n-1]`` is ``[n]``), printed like a chain's."""

    number: int
    source: str
    page: int | None
    text: str
    score: float

    @classmethod
    def numbered(cls, sent: Sequence[dict[str, Any]]) -> list[SentSource]:
        """The API's ``sources`` list, numbered from 1."""
        return [
            cls(n, str(s.get("source", "")), s.get("page"), str(s.get("text", "")), s["score"])
            for n, s in enumerate(sent, start=1)
        ]

    @property
    def relevance(self) -> str:
        """:attr:`score` in a word, as a chain's source shows it."""
        from rag.generation.result import relevance_word

        return relevance_word(self.score)


def stream_answer(chain: Runnable[Any, Any], inputs: dict[str, Any], *, echo: bool) -> ChainResult:
    """Run the chain; with ``echo``, print the answer as it streams.

    Returns:
        The whole turn: the answer, its documents, images and prompt.

    """
    from rag.generation.result import AnswerStream

    stream = AnswerStream(chain, inputs)
    echo_pieces(stream, echo=echo)
    return stream.result


def echo_pieces(pieces: Iterable[str], *, echo: bool) -> None:
    """Consume an answer's pieces, printing them as they come with ``echo``."""
    for piece in pieces:
        if echo:
            out.out(shown(piece, keep="\n\t"), end="", highlight=False)


def print_sources(sources: Sequence[Source | SentSource], images: Sequence[ImageUse] = ()) -> None:
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
