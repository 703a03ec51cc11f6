"""What the tests and the benchmarks both build on, so that neither imports the other.

- :mod:`devkit.models`: where the offline models are, and the settings a command runs with;
- :mod:`devkit.datasets`: the shared evaluation datasets, or one line saying they are missing;
- :mod:`devkit.documents`, :mod:`devkit.corpus`, :mod:`devkit.image_bytes`: files in every
  format the ingestion reads, good and hostile, made on the spot;
- :mod:`devkit.statute`: a statute laid out on A4 pages, as a text PDF and as a scan;
- :mod:`devkit.postgres`: a real PostgreSQL + pgvector server, started for a run.

Not part of the distribution: it lives beside ``tests/`` and ``benchmarks/`` in a checkout.
"""
