"""``bllossom-rag chat``: an interactive conversation with the documents, follow-ups included.

Each line read is a question; it is answered with the conversation so far, so "그럼 대통령은?"
after "국회의원의 임기는?" is searched and answered as the follow-up it is (``query_rewrite``
says how). The models load with the first question and stay loaded for the session.
``/new`` starts a new conversation, ``/exit`` (or end of input, Ctrl-D) ends the session. A
failed answer prints its one-line error and the conversation goes on without that turn.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.markup import escape

from rag.access import Access, parse_groups
from ui.cli.app import CollectionOption, app, cli_actor, err, open_assistant, out

NEW = "/new"
EXIT = ("/exit", "/quit")


@app.command()
def chat(
    collection: CollectionOption = None,
    k: Annotated[int | None, typer.Option("--k", min=1, max=100, help="Passages.")] = None,
    user_groups: Annotated[
        str, typer.Option(help="Comma-separated groups of the asker (default: public only).")
    ] = "",
) -> None:
    """Chat with the documents: follow-up questions use the conversation (/new, /exit)."""
    from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

    from rag.errors import BllossomRagError
    from ui.cli.answers import print_sources, print_support, stream_answer

    with open_assistant() as assistant:
        chain = assistant.chain(collection, k, access=Access.for_groups(parse_groups(user_groups)))
        name, actor = collection or assistant.settings.collection, cli_actor()
        out.print(f"[dim]Ask a question; {NEW} starts over, {EXIT[0]} or Ctrl-D ends.[/]")
        history: list[BaseMessage] = []
        while True:
            try:
                question = out.input("[bold cyan]> [/]").strip()
            except EOFError:
                out.print()
                break
            if question in EXIT:
                break
            if question == NEW:
                history.clear()
                out.print("[dim]New conversation.[/]")
                continue
            if not question:
                continue
            started = time.monotonic()
            try:
                result = stream_answer(
                    chain, {"question": question, "history": list(history)}, echo=True
                )
            except BllossomRagError as error:
                err.print(f"[bold red]Error:[/] {escape(str(error))}")
                continue
            assistant.record_answer(actor, name, result, time.monotonic() - started)
            print_sources(result.sources, result.images)
            print_support(assistant.check_support(result))
            history += [HumanMessage(content=question), AIMessage(content=result.answer)]
