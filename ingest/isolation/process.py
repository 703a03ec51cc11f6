"""Run a parser over untrusted bytes in a worker process that may crash, hang or bloat alone.

Office files, PDF, Hancom documents, web pages and even plain text are parsed by code that a
crafted file can drive into a loop, a crash or gigabytes of memory (a 100 KB DOCX of eight
million empty paragraphs; a 1 MB workbook of 27 million shared strings). Parsing therefore
never happens in the ingesting process: each file goes to a worker forked by the parser server
(:mod:`ingest.isolation.server`), which this module starts once per process and restarts if it
dies. The parent enforces a wall-clock timeout (the worker is killed past it); the worker caps
the memory it may add (``RLIMIT_AS``) and its output (``RLIMIT_FSIZE``) before touching the
input, so a bomb fails inside it. Whatever happens, the parent gets bytes or a one-line
:class:`IngestError`, and the batch goes on.

The file's bytes, the result and the worker's error output travel through anonymous memory
files (``memfd``), so parsing needs no disk space. The result is JSON (never a pickle, which
would let a compromised worker run code in the parent), validated like any untrusted input.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from ingest.isolation.child import MEMORY_EXIT
from rag.errors import IngestError

_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
_STDERR_TAIL = 400
# One OpenMP and one BLAS thread per worker: files and pages run in parallel workers instead,
# and a process forked from one with idle threads must not depend on them.
_SERVER_ENV = {"OMP_THREAD_LIMIT": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
MEMORY_SETTING = "ingest.parser_memory_mb"


class _ServerProcess:
    """The running parser server and the control socket to it."""

    def __init__(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        path = os.environ.get("PYTHONPATH")
        env = {
            **os.environ,
            **_SERVER_ENV,
            "PYTHONPATH": os.pathsep.join(p for p in (_PROJECT_ROOT, path) if p),
        }
        command = [sys.executable, "-m", "ingest.isolation.server", str(theirs.fileno())]
        self.process = subprocess.Popen(
            command, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env
        )
        theirs.close()
        self.control = mine

    def alive(self) -> bool:
        return self.process.poll() is None

    def submit(self, request: dict[str, Any], files: list[IO[bytes]]) -> socket.socket:
        """Send one request; the socket on which its exit status will come."""
        reply, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            payload = json.dumps(request).encode()
            socket.send_fds(
                self.control, [payload], [theirs.fileno(), *(f.fileno() for f in files)]
            )
        except OSError:
            reply.close()
            raise
        finally:
            theirs.close()
        return reply


_server: _ServerProcess | None = None
_server_lock = threading.Lock()


def _submit(request: dict[str, Any], files: list[IO[bytes]]) -> socket.socket:
    """Send a request to the parser server, starting it (again) when it is not running."""
    global _server
    with _server_lock:
        for attempt in (1, 2):
            if _server is None or not _server.alive():
                _server = _ServerProcess()
            try:
                return _server.submit(request, files)
            except OSError:
                if attempt == 2:
                    raise
                _server.process.kill()
                _server.process.wait()
                _server = None
    raise AssertionError  # pragma: no cover (the loop returns or raises)


def server_pid() -> int | None:
    """The parser server's process id, if it runs (for tests that watch its workers)."""
    return _server.process.pid if _server is not None and _server.alive() else None


def run_isolated(
    module: str,
    data: bytes,
    *,
    options: dict[str, Any],
    timeout_s: float,
    memory_mb: int,
    max_output_bytes: int,
    label: str,
) -> bytes:
    """Run ``module.extract(data, options)`` in a worker and return what it printed.

    Args:
        module: The task module (see :mod:`ingest.isolation.child`).
        data: The worker's stdin.
        options: The task's options (JSON).
        timeout_s: Wall-clock limit; the worker is killed past it.
        memory_mb: Memory the worker may add to what the parsers' code occupies.
        max_output_bytes: The most the worker may write as its result.
        label: What the worker is, for messages (``"PDF parser"``).

    Returns:
        What the worker wrote to stdout.

    Raises:
        IngestError: The worker timed out, crashed, ran out of memory or failed.

    """
    request = {
        "module": module,
        "options": options,
        "memory_mb": memory_mb,
        "max_output_bytes": max_output_bytes,
    }
    with _memory_file("input") as given, _memory_file("output") as out, _memory_file("err") as err:
        given.write(data)
        given.seek(0)
        reply = _submit(request, [given, out, err])
        with reply:
            reply.settimeout(timeout_s)
            try:
                answer = reply.recv(256)
            except TimeoutError:
                template = "{label} ran past the {limit:g}-second limit and was stopped"
                raise IngestError.because(template, label=label, limit=timeout_s) from None
        if not answer:
            template = "{label} stopped: the parser server ended unexpectedly"
            raise IngestError.because(template, label=label)
        returncode = int(json.loads(answer)["status"])
        if returncode != 0:
            if out.seek(0, os.SEEK_END) >= max_output_bytes:  # Python ignores SIGXFSZ: EFBIG
                template = "{label} produced more than {limit:,} bytes of output"
                raise IngestError.because(template, label=label, limit=max_output_bytes)
            err.seek(0)
            raise _failure(returncode, err.read(), label, memory_mb)
        out.seek(0)
        return out.read()


def _memory_file(name: str) -> IO[bytes]:
    """An anonymous file in memory (a temporary file where ``memfd_create`` is missing)."""
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create(f"bllossom-rag-{name}"), "w+b")
    return tempfile.TemporaryFile()


def _failure(returncode: int, stderr: bytes, label: str, memory_mb: int) -> IngestError:
    if returncode == MEMORY_EXIT:
        template = "{label} ran out of its {limit:,} MB memory limit ({setting})"
        return IngestError.because(template, label=label, limit=memory_mb, setting=MEMORY_SETTING)
    if returncode < 0:
        template = (
            "{label} crashed ({signal}): the file is malformed or needs more than "
            "the {limit:,} MB memory limit ({setting})"
        )
        name = _signal_name(-returncode)
        return IngestError.because(
            template, label=label, signal=name, limit=memory_mb, setting=MEMORY_SETTING
        )
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    last = lines[-1][:_STDERR_TAIL] if lines else "no message"
    template = "{label} failed (exit status {status}): {error}"
    return IngestError.because(template, label=label, status=returncode, error=last)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
