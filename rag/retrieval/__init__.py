"""Finding the passages: the retriever, fusion, reranking, calibrated relevance, follow-ups.

- :mod:`~rag.retrieval.retriever`: the LangChain retriever over the store,
- :mod:`~rag.retrieval.fusion`, :mod:`~rag.retrieval.rerank`: ordering the candidates,
- :mod:`~rag.retrieval.relevance`: a relevance that means the same for every query, its floor,
- :mod:`~rag.retrieval.followup`: a chat turn searched with its conversation,
- :mod:`~rag.retrieval.vectorstore`: the store as a LangChain ``VectorStore``.
"""
