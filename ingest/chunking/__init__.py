"""Chunks cut at a document's own units (:mod:`~ingest.chunking.outline`), sized in tokens."""
