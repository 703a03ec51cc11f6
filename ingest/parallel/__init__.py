"""Parallel ingest: worker processes parse and embed, the parent commits in order."""

from ingest.parallel.ingestor import ParallelIngestor

__all__ = ["ParallelIngestor"]
