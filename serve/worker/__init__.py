"""The GPU worker: Bllossom-Vision behind an OpenAI-compatible HTTP API.

Many UI users share one GPU through it, so it is built to stay up: a bounded queue and a concurrency
limit that refuse at once (429) instead of piling up, a per-request timeout, a client disconnect
that stops its generation, an out-of-memory error that fails only its request, and malformed input
answered with a 4xx that names the field. Prompts are rendered by the same code as in-process
generation (:mod:`rag.generation.chat_format`, :mod:`rag.generation.prompt`), so a chain gets the
same prompt whether it runs ``ChatBllossom`` itself or ``ChatOpenAI`` against this worker.

Needs the ``worker`` extra (Starlette + uvicorn): ``pip install "bllossom-rag[worker]"``.
"""

from serve.worker.app import create_app
from serve.worker.options import WorkerOptions

__all__ = ["WorkerOptions", "create_app"]
