"""``bllossom-rag ask``: answer a question with numbered sources.

With a RAG API at hand (``[cli] api_url``, or one found running for this store), the question
goes there and no model loads in this process (:mod:`ui.cli.remote`); ``--local`` answers
in-process anyway.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rag.access import Access, parse_groups
from rag.errors import BllossomRagError
from ui.cli.app import (
    CollectionOption,
    JsonOption,
    app,
    cli_actor,
    open_assistant,
    print_json,
    user_errors,
)

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from ui.cli.remote import RemoteApi

LocalOption = Annotated[
    bool, typer.Option("--local", help="Answer in this process even when a RAG API could.")
]


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Korean or English.")],
    collection: CollectionOption = None,
    k: Annotated[int | None, typer.Option("--k", min=1, max=100, help="Passages.")] = None,
    image: Annotated[
        list[Path] | None,
        typer.Option(
            "--image",
            exists=True,
            dir_okay=False,
            help="Your own image to ask about (repeatable; see generation.max_images).",
        ),
    ] = None,
    user_groups: Annotated[
        str, typer.Option(help="Comma-separated groups of the asker (default: public only).")
    ] = "",
    local: LocalOption = False,
    as_json: JsonOption = False,
) -> None:
    """Answer a question from the ingested documents, with numbered sources."""
    from ui.cli.answers import print_sources, print_support, stream_answer

    with user_errors():
        if not question.strip():
            msg = 'the question is empty: bllossom-rag ask "your question"'
            raise BllossomRagError(msg)
    with open_assistant() as assistant:
        assistant.turn_limits.check_question(question)  # before any model loads
        images = [_image_block(path) for path in image or ()]
        name = collection or assistant.settings.collection
        api = None if local or k or user_groups else answering_api(assistant)
        if api is not None:
            _ask_remote(api, name, question, images, as_json=as_json)
            return
        access = Access.for_groups(parse_groups(user_groups))
        chain = assistant.chain(collection, k, access=access)
        started = time.monotonic()
        result = stream_answer(chain, {"question": question, "images": images}, echo=not as_json)
        assistant.record_answer(cli_actor(), name, result, time.monotonic() - started)
        support = assistant.check_support(result)
        if as_json:
            print_json(
                {
                    "answer": result.answer,
                    "sources": [source.to_json() for source in result.sources],
                    "support": [checked.to_json() for checked in support],
                    "prompt": result.prompt,  # rendered and counted once, by the chain
                    "prompt_tokens": result.prompt_tokens,
                    "images": [image.to_json() for image in result.images],
                }
            )
            return
    print_sources(result.sources, result.images)
    print_support(support)


def answering_api(assistant: Assistant) -> RemoteApi | None:
    """The RAG API that answers instead of this process, if any (:mod:`ui.cli.remote`)."""
    from ui.cli.remote import remote_api

    return remote_api(assistant.settings, lambda: assistant.store.store_id)


def _ask_remote(
    api: RemoteApi,
    collection: str,
    question: str,
    images: list[dict[str, Any]],
    *,
    as_json: bool,
) -> None:
    from ui.cli.answers import SentSource, echo_pieces, print_sources
    from ui.cli.remote import message

    answer = api.answer(collection, [message("user", question, images)])
    echo_pieces(answer, echo=not as_json)
    if as_json:
        print_json(
            {
                "answer": answer.text,
                "sources": answer.sources,
                "prompt": None,  # rendered on the server
                "prompt_tokens": answer.prompt_tokens,
                "images": [],
            }
        )
        return
    print_sources(SentSource.numbered(answer.sources))


def _image_block(path: Path) -> dict[str, Any]:
    """The user's image file as a LangChain image block; a bad file names itself."""
    from rag.generation.chat_format import user_image_block
    from rag.images import ImageDecodeError

    resolved = path.expanduser().resolve()
    try:
        return user_image_block(resolved.read_bytes(), source=str(resolved))
    except (ImageDecodeError, OSError) as error:
        msg = f"{path}: {error}"
        raise BllossomRagError(msg) from None
