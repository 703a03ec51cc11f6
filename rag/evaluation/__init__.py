"""Measuring retrieval: datasets, ranking metrics, and the answers people rated."""
