"""One place that picks the store backend: PostgreSQL when ``store.url`` is set, else embedded.

The embedded store needs nothing but ``data_dir``; the PostgreSQL one is an optional extra, so
it is imported only when a URL asks for it, and a missing extra is one line saying what to
install.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import ConfigError
from rag.store.base import DocumentStore
from rag.store.dense_index import IndexPolicy
from rag.store.store import DATABASE_FILE, Store

if TYPE_CHECKING:
    from rag.config import Settings

STORE_URL_SCHEMES = ("postgresql://", "postgres://")


def open_store(
    data_dir: Path,
    store_url: str | None = None,
    index_policy: IndexPolicy | None = None,
    pool_size: int = 8,
) -> DocumentStore:
    """The store for these settings.

    Args:
        data_dir: The embedded store's folder, or the PostgreSQL store's local caches.
        store_url: ``postgresql://...``: the shared store in that database; None: embedded.
        index_policy: Index sizes and parameters (both backends).
        pool_size: Connections to PostgreSQL this process may hold.

    Raises:
        ConfigError: The URL is not a PostgreSQL URL, or the ``postgres`` extra is missing.
        StoreError: The store cannot be opened.

    """
    if not store_url:
        return Store(data_dir, index_policy=index_policy)
    if not store_url.startswith(STORE_URL_SCHEMES):
        msg = "store.url must start with postgresql:// (or be unset for the embedded store)"
        raise ConfigError(msg)
    try:
        from rag.store.postgres import PostgresStore
    except ImportError as error:
        raise ConfigError(str(error)) from None
    return PostgresStore(store_url, data_dir, index_policy=index_policy, pool_size=pool_size)


def store_of(settings: Settings) -> DocumentStore:
    """The store the settings name (``data_dir``, or ``[store] url``), made if new."""
    url = settings.store.url.get_secret_value() if settings.store.url else None
    return open_store(
        settings.data_dir,
        url,
        index_policy=IndexPolicy(**settings.store.index.model_dump()),
        pool_size=settings.store.pool_size,
    )


def existing_store_of(settings: Settings) -> DocumentStore | None:
    """The store the settings name if it is there: None rather than a new embedded one.

    The GPU worker reads API keys from the store when there is one; it never makes one.
    """
    if settings.store.url is None and not (settings.data_dir / DATABASE_FILE).is_file():
        return None
    return store_of(settings)
