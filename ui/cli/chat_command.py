"""``bllossom-rag chat``: an interactive conversation with the documents, follow-ups included.

Each line read is a question; it is answered with the conversation so far, so "그럼 대통령은?"
after "국회의원의 임기는?" is searched and answered as the follow-up it is (``query_rewrite``
says how). The models load with the first question and stay loaded for the session, unless a
RAG API answers instead (:mod:`ui.cli.remote`: then the conversation is sent with each question
and no model loads here). ``/new`` starts a new conversation, ``/exit`` (or end of input,
Ctrl-D) ends the session. A failed answer (a question over ``[conversation]
max_question_chars`` too) prints its one-line error and the conversation goes on without that
turn. A long conversation carries its latest turns (``max_turns``, ``max_turn_chars``), as the
prompt would keep them anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Annotated

import typer
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from rich.markup import escape

from rag.access import Access, parse_groups
from rag.errors import BllossomRagError
from rag.generation.turn_limits import TurnLimits
from ui.cli.app import CollectionOption, app, cli_actor, err, open_assistant, out
from ui.cli.ask_command import LocalOption, answering_api

NEW = "/new"
EXIT = ("/exit", "/quit")

# One turn: the question and the conversation before it -> the answer (its sources printed).
Answerer = Callable[[str, list[BaseMessage]], str]


@app.command()
def chat(
    collection: CollectionOption = None,
    k: Annotated[int | None, typer.Option("--k", min=1, max=100, help="Passages.")] = None,
    user_groups: Annotated[
        str, typer.Option(help="Comma-separated groups of the asker (default: public only).")
    ] = "",
    local: LocalOption = False,
) -> None:
    """Chat with the documents: follow-up questions use the conversation (/new, /exit)."""
    from ui.cli.answers import SentSource, echo_pieces, print_sources

    with open_assistant() as assistant:
        name = collection or assistant.settings.collection
        api = None if local or k or user_groups else answering_api(assistant)
        if api is not None:
            from ui.cli.remote import message

            def answer(question: str, history: list[BaseMessage]) -> str:
                messages = [
                    message("user" if earlier.type == "human" else "assistant", earlier.text)
                    for earlier in history
                ]
                sent = api.answer(name, [*messages, message("user", question)])
                echo_pieces(sent, echo=True)
                print_sources(SentSource.numbered(sent.sources))
                return sent.text

        else:
            from ui.cli.answers import print_support, stream_answer

            access = Access.for_groups(parse_groups(user_groups))
            chain = assistant.chain(collection, k, access=access)
            actor = cli_actor()

            def answer(question: str, history: list[BaseMessage]) -> str:
                started = time.monotonic()
                result = stream_answer(chain, {"question": question, "history": history}, echo=True)
                assistant.record_answer(actor, name, result, time.monotonic() - started)
                print_sources(result.sources, result.images)
                print_support(assistant.check_support(result))
                return result.answer

        converse(answer, assistant.turn_limits)


def converse(answer: Answerer, limits: TurnLimits) -> None:
    """Read questions until the end, answering each after the latest turns before it."""
    out.print(f"[dim]Ask a question; {NEW} starts over, {EXIT[0]} or Ctrl-D ends.[/]")
    history: list[BaseMessage] = []
    for question in _questions():
        if question == NEW:
            history.clear()
            out.print("[dim]New conversation.[/]")
            continue
        try:
            limits.check_question(question)
            answered = answer(question, limits.recent(history))
        except BllossomRagError as error:
            err.print(f"[bold red]Error:[/] {escape(str(error))}")
            continue
        history += [HumanMessage(content=question), AIMessage(content=answered)]


def _questions() -> Iterator[str]:
    while True:
        try:
            question = out.input("[bold cyan]> [/]").strip()
        except EOFError:
            out.print()
            return
        if question in EXIT:
            return
        if question:
            yield question
