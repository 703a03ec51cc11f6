"""What reads a document's contents: the format parsers the isolated child runs, and their parts.

- :mod:`~ingest.extractors.pdf`, :mod:`~ingest.extractors.hwp`, :mod:`~ingest.extractors.hwpx`,
  :mod:`~ingest.extractors.ocr`: child tasks (see :mod:`ingest.isolation.child`),
- :mod:`~ingest.extractors.nearby`: pictures with the captions beside them,
- :mod:`~ingest.extractors.reflow`: printed lines back into paragraphs.
"""
