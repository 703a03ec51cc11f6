"""The HTTP servers: the GPU worker and the RAG API, on one OpenAI-compatible kit.

- :mod:`serve.http`: what both servers share (protocol, admission, limits, streaming, metrics),
- :mod:`serve.worker`: ``bllossom-rag serve``, the generator (and embedder) over HTTP,
- :mod:`serve.api`: ``bllossom-rag api``, retrieval-augmented answers over HTTP.

An edge like the command line and the web app: nothing in ``rag`` or ``ingest`` imports it.
"""
