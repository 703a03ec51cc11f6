"""``bllossom-rag ask``: answer a question with numbered sources."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from rag.cli.app import CollectionOption, JsonOption, app, open_assistant, out, print_json


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Korean or English.")],
    collection: CollectionOption = None,
    k: Annotated[int | None, typer.Option("--k", min=1, max=100, help="Passages.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question from the ingested documents, with numbered sources."""
    from rag.chain import sources_from_documents
    from rag.llm import encode_prompt

    with open_assistant() as assistant:
        chain = assistant.chain(collection, k)
        state: dict[str, Any] = {}
        answer: list[str] = []
        for part in chain.stream({"question": question}):
            if "answer" in part:
                answer.append(part["answer"])
                if not as_json:
                    out.out(part["answer"], end="", highlight=False)
            else:
                state.update(part)
        sources = sources_from_documents(state["documents"])
        if as_json:
            prompt = encode_prompt(assistant.processor, state["messages"])
            print_json(
                {
                    "answer": "".join(answer),
                    "sources": [source.to_json() for source in sources],
                    "prompt": prompt.text,
                    "prompt_tokens": prompt.token_count,
                }
            )
            return
    out.print("\n")
    out.print("[bold]Sources[/]" if sources else "[dim]No sources found.[/]")
    for source in sources:
        where = f", p. {source.page}" if source.page is not None else ""
        snippet = " ".join(source.text.split())[:160]
        out.print(f"[{source.number}] {escape(source.source)}{where}  (score {source.score:.3f})")
        out.print(f"    [dim]{escape(snippet)}[/]")
