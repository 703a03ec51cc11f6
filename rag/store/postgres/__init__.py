"""The store in PostgreSQL + pgvector (the ``postgres`` extra): many instances, one store."""

try:
    import psycopg  # noqa: F401
    import psycopg_pool  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the installation
    msg = (
        'store.url names a PostgreSQL store, which needs the extra: pip install "bllossom-rag'
        f'[postgres]" ({error})'
    )
    raise ImportError(msg) from error

from rag.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
