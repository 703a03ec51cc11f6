"""Stored images in PostgreSQL (``bytea``), served from a local content-addressed cache.

Every instance must serve every image, so the normalized PNG and its thumbnail live in the
``images`` table, keyed by the PNG's sha256 like the embedded store's files. ``bytea`` rather
than large objects: images are small (a normalized figure is tens to hundreds of kB; the
loaders cap their pixels), ``bytea`` rows are transactional, TOAST-compressed, dumped by
``pg_dump`` and carried by logical replication with the rest of the data, and are deleted with
a plain ``DELETE``; large objects are none of these (``vacuumlo``, no logical replication) and
pay off only for streaming values of many megabytes (``docs/benchmarks.md`` has the timings).

Chains and the web app read images from paths, so :meth:`DatabaseImages.path` writes a local
copy on first use into ``data_dir`` (an :class:`ImageFiles` folder): a hash names one content
forever, so the cache never goes stale and losing it costs only a reread.

Sweeps follow the embedded store's rule (ingests store figures before the commit that refers to
them): an ingest holds a shared advisory lock for its whole run, and a sweep takes it
exclusively or skips. The lock is per store (keyed by its id) and lives on a connection of its
own, so it ends with the process that holds it, wherever it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image
from psycopg_pool import ConnectionPool

from rag.store.base import ImageStore
from rag.store.image_files import EncodedImage, ImageFiles, encode_image

_SWEEP_LOCK = "SELECT hashtext('bllossom-rag images ' || %s)"


class DatabaseImages(ImageStore):
    """The ``images`` table of one store, with a local cache of files.

    Args:
        pool: Connections to the store.
        cache: The local folder for copies (``data_dir/cache/images``).
        store_id: The store's id (names its lock).

    """

    def __init__(self, pool: ConnectionPool, cache: Path, store_id: str) -> None:
        self.pool = pool
        self.cache = ImageFiles(cache)
        self.store_id = store_id

    def put(self, image: Image.Image) -> str:
        """Store an RGB image (and its thumbnail) if new; return its content hash."""
        encoded = encode_image(image)
        self.save(encoded)
        return encoded.sha256

    def save(self, encoded: EncodedImage) -> None:
        """Insert an encoded image unless it is there, and keep the local copy."""
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO images(sha256, png, thumbnail) VALUES (%s, %s, %s) "
                "ON CONFLICT (sha256) DO NOTHING",
                (encoded.sha256, encoded.png, encoded.thumbnail),
            )
        self.cache.save(encoded)

    def open(self, sha256: str) -> Image.Image:
        """Load a stored image (through the local copy)."""
        self._cached(sha256)
        return self.cache.open(sha256)

    def path(self, sha256: str) -> Path:
        """The local copy of the normalized PNG (fetched on first use)."""
        self._cached(sha256)
        return self.cache.path(sha256)

    def thumbnail_path(self, sha256: str) -> Path:
        """The local copy of its thumbnail (fetched on first use)."""
        self._cached(sha256)
        return self.cache.thumbnail_path(sha256)

    def _cached(self, sha256: str) -> None:
        if self.cache.path(sha256).exists() and self.cache.thumbnail_path(sha256).exists():
            return
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT png, thumbnail FROM images WHERE sha256 = %s", (sha256,)
            ).fetchone()
        if row is not None:  # a removed image has no copy: reading the path then fails
            self.cache.save(EncodedImage(sha256, bytes(row[0]), bytes(row[1])))

    @contextmanager
    def in_use(self) -> Iterator[None]:
        """Hold off sweeps (of any instance) while this process stores images ahead of commits."""
        with self.pool.connection() as conn:
            conn.execute(f"SELECT pg_advisory_lock_shared(({_SWEEP_LOCK}))", (self.store_id,))
            try:
                yield
            finally:
                conn.execute(f"SELECT pg_advisory_unlock_shared(({_SWEEP_LOCK}))", (self.store_id,))

    def sweep(self) -> int | None:
        """Delete images no chunk refers to; None when an ingest holds them (it sweeps later)."""
        with self.pool.connection() as conn, conn.transaction():
            locked = conn.execute(
                f"SELECT pg_try_advisory_xact_lock(({_SWEEP_LOCK}))", (self.store_id,)
            ).fetchone()
            if not locked or not locked[0]:
                return None
            deleted = conn.execute(
                "DELETE FROM images i WHERE NOT EXISTS "
                "(SELECT 1 FROM chunks c WHERE c.image_sha256 = i.sha256) RETURNING sha256"
            ).fetchall()
        for (sha256,) in deleted:
            self.cache.path(sha256).unlink(missing_ok=True)
            self.cache.thumbnail_path(sha256).unlink(missing_ok=True)
        return len(deleted)
