"""The edges a person touches: the command line (``ui.cli``) and the Streamlit app (``ui.web``).

Nothing in ``rag`` (the core) or ``ingest`` (the write path) imports this package.
"""
