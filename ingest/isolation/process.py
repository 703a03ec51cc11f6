"""Run a parser over untrusted bytes in a child process that may crash, hang or bloat alone.

PDF is a large, old format and pdfium is C++: a crafted file can crash it, loop forever or ask
for gigabytes. Parsing therefore happens in ``python -m <module>``, a fresh interpreter that
receives the file's bytes on stdin and writes its result to a temporary file. The parent
enforces a wall-clock timeout (and kills the child past it); the child caps its own address
space (``RLIMIT_AS``) and output size (``RLIMIT_FSIZE``) before touching the input, so a bomb
fails inside the child. Whatever happens, the parent gets bytes or a one-line
:class:`IngestError`, and the batch goes on.

The trade-off is ~0.1 s of interpreter start per file, and a result that must be re-read:
the child writes JSON (never a pickle, which would let a compromised child run code in the
parent), and the parent validates it like any other untrusted input.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from rag.errors import IngestError

# Exit status a child uses to say "ran out of memory" (MemoryError under RLIMIT_AS).
MEMORY_EXIT = 3
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
_STDERR_TAIL = 400


def apply_limits(memory_mb: int, max_output_bytes: int) -> None:
    """In the child, before reading input: cap address space and the size of files written."""
    import resource  # POSIX only; the parent never imports it

    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_output_bytes, max_output_bytes))


def run_isolated(
    module: str,
    data: bytes,
    *,
    args: list[str],
    timeout_s: float,
    memory_mb: int,
    max_output_bytes: int,
    label: str,
) -> bytes:
    """Run ``python -m module --memory-mb M --max-output-bytes N *args`` on ``data``.

    Args:
        module: The child program; it must call :func:`apply_limits` first.
        data: Sent on the child's stdin.
        args: Extra command-line arguments for the child.
        timeout_s: Wall-clock limit; the child is killed past it.
        memory_mb: The child's address-space limit.
        max_output_bytes: The most the child may write as its result.
        label: What the child is, for messages (``"PDF parser"``).

    Returns:
        What the child wrote to stdout.

    Raises:
        IngestError: The child timed out, crashed, ran out of memory or failed.

    """
    command = [
        sys.executable,
        "-m",
        module,
        "--memory-mb",
        str(memory_mb),
        "--max-output-bytes",
        str(max_output_bytes),
        *args,
    ]
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (_PROJECT_ROOT, path) if p)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out, stderr=err, env=env)
        try:
            process.communicate(input=data, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            template = "{label} ran past the {limit:g}-second limit and was stopped"
            raise IngestError.because(template, label=label, limit=timeout_s) from None
        if process.returncode != 0:
            if out.seek(0, os.SEEK_END) >= max_output_bytes:  # Python ignores SIGXFSZ: EFBIG
                template = "{label} produced more than {limit:,} bytes of output"
                raise IngestError.because(template, label=label, limit=max_output_bytes)
            err.seek(0)
            raise _failure(process.returncode, err.read(), label, memory_mb)
        out.seek(0)
        return out.read()


def _failure(returncode: int, stderr: bytes, label: str, memory_mb: int) -> IngestError:
    if returncode == MEMORY_EXIT:
        template = "{label} ran out of its {limit:,} MB memory limit"
        return IngestError.because(template, label=label, limit=memory_mb)
    if returncode < 0:
        template = (
            "{label} crashed ({signal}): the file is malformed or needs more than "
            "the {limit:,} MB memory limit"
        )
        signal = _signal_name(-returncode)
        return IngestError.because(template, label=label, signal=signal, limit=memory_mb)
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    last = lines[-1][:_STDERR_TAIL] if lines else "no message"
    template = "{label} failed (exit status {status}): {error}"
    return IngestError.because(template, label=label, status=returncode, error=last)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
