"""The OpenAI-compatible HTTP kit the worker and the RAG API are built on (Starlette, uvicorn)."""
