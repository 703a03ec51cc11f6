"""bllossom-rag: a Korean-English multimodal RAG assistant around Bllossom-Vision.

The core library: configuration, the store, embeddings, retrieval, the Bllossom prompt,
generation and the chain. ``ingest`` (the write path) and ``ui`` (Streamlit) build on it.
Heavy dependencies (torch, transformers, FAISS) load only when first used.
"""

__version__ = "0.1.0"
