"""Every call the web app makes into ``rag`` and ``ingest``, one module per page.

Pages draw; services do. A service has no retrieval, prompt or ingestion logic of its own: it
builds the same chain and the same ingestor the command line builds, passes the user's
:class:`~rag.access.Access` to every query and every listing, and turns library failures into
messages. Keeping the call sites of each page in one module means a change in the library API
is a change in one place, and a page's module never has to be read to review another's.
``common`` holds what more than one page asks for.
"""
