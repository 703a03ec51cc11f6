"""The RAG API: the assistant behind OpenAI's chat API, with sources and per-key access.

``bllossom-rag api`` serves it; any OpenAI client (the official SDKs, LangChain's
``ChatOpenAI``, curl) talks to it with a collection as the model. It is an edge like the command
line and the web app: it builds the same :class:`~rag.assistant.Assistant` chain, and it takes
its HTTP machinery from the kit the GPU worker is built on too (:mod:`serve.http`: the key check,
body limits, admission queue, streaming, header deadlines), so both servers keep one error
contract.

Needs the ``worker`` extra (Starlette + uvicorn).
"""

from serve.api.app import create_app
from serve.api.options import ApiOptions

__all__ = ["ApiOptions", "create_app"]
