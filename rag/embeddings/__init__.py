"""Embedders: one interface (:mod:`~rag.embeddings.base`), three backends, one factory.

- :mod:`~rag.embeddings.torch`: sentence-transformers in this process,
- :mod:`~rag.embeddings.onnx`: the same model exported to ONNX Runtime (CPU),
- :mod:`~rag.embeddings.remote`: an OpenAI-compatible ``/v1/embeddings`` server,
- :mod:`~rag.embeddings.factory`: settings -> one of them,
- :mod:`~rag.embeddings.space` and :mod:`~rag.embeddings.calibration`: the language-neutral
  vector space and relevance model shipped per model in ``calibrations/``.
"""
