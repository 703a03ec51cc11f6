"""Worker processes that answer jobs out of order, and hand the answers back in order.

Each worker process (:mod:`ingest.parallel.worker`) is driven by one thread of the parent: the
thread takes the next job, sends it, and waits for its answer line. Jobs are taken in order and
at most ``window`` of them are ahead of the one the parent consumes, so memory stays bounded
while the parent commits. A worker that dies (killed for memory, a crash) fails its job in one
line; the next job starts a new worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import IO, Any

# Threads each worker's math libraries use: the machine's cores shared between the workers.
_CORES = len(os.sched_getaffinity(0))


class WorkerPool:
    """``size`` worker processes for one ingest run.

    Args:
        size: How many worker processes.
        setup: The first line every worker reads (collection, settings, groups).

    """

    def __init__(self, size: int, setup: dict[str, Any]) -> None:
        self.size = size
        self.setup = json.dumps(setup, ensure_ascii=False) + "\n"
        self._answers: dict[int, dict[str, Any]] = {}
        self._next = 0
        self._consumed = 0
        self._jobs: Sequence[dict[str, Any]] = ()
        self._ready = threading.Condition()
        self._processes: list[subprocess.Popen[str]] = []
        self._stopping = False

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        with self._ready:
            self._stopping = True
            self._ready.notify_all()
        for process in list(self._processes):
            _stop(process)

    def answers(self, jobs: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Each job's answer, in the jobs' order (``{"error": ...}`` for a job that failed)."""
        self._jobs = jobs
        window = 2 * self.size
        threads = [
            threading.Thread(target=self._drive, args=(window,), daemon=True)
            for _ in range(min(self.size, len(jobs)))
        ]
        for thread in threads:
            thread.start()
        for index in range(len(jobs)):
            with self._ready:
                self._ready.wait_for(lambda i=index: i in self._answers)  # type: ignore[misc]
                answer = self._answers.pop(index)
                self._consumed = index + 1
                self._ready.notify_all()
            yield answer
        for thread in threads:
            thread.join()

    def _drive(self, window: int) -> None:
        """One worker's thread: take jobs in order, answer them, until none is left."""
        process: subprocess.Popen[str] | None = None
        with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errors:
            try:
                while (index := self._take(window)) is not None:
                    if process is None or process.poll() is not None:
                        process = self._start(errors)
                    answer = _ask(process, self._jobs[index], errors)
                    with self._ready:
                        self._answers[index] = answer
                        self._ready.notify_all()
            finally:
                if process is not None:
                    _stop(process)

    def _take(self, window: int) -> int | None:
        """The next job's index, once it is within ``window`` of the parent; None: no more."""
        with self._ready:
            self._ready.wait_for(lambda: self._stopping or self._next < self._consumed + window)
            if self._stopping or self._next >= len(self._jobs):
                return None
            index, self._next = self._next, self._next + 1
            return index

    def _start(self, errors: IO[str]) -> subprocess.Popen[str]:
        threads = str(max(1, _CORES // self.size))
        environment = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        environment["TOKENIZERS_PARALLELISM"] = "false"
        process = subprocess.Popen(
            [sys.executable, "-m", "ingest.parallel.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            encoding="utf-8",
            env=environment,
        )
        self._processes.append(process)
        assert process.stdin is not None
        process.stdin.write(self.setup)
        process.stdin.flush()
        return process


def _ask(process: subprocess.Popen[str], job: dict[str, Any], errors: IO[str]) -> dict[str, Any]:
    """Send a job, read its answer; a worker that dies or garbles answers fails the job."""
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(json.dumps(job, ensure_ascii=False) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
    except OSError:
        line = ""
    if not line:
        code = process.wait()
        return {"error": f"the ingest worker stopped (exit code {code}){_last_line(errors)}"}
    try:
        answer = json.loads(line)
    except json.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        process.kill()  # not trusted again: the next job starts a new worker
        process.wait()
        return {"error": "the ingest worker sent an answer that is not JSON"}
    return answer


def _last_line(errors: IO[str]) -> str:
    errors.seek(0)
    lines = [line.strip() for line in errors.read().splitlines() if line.strip()]
    errors.seek(0, os.SEEK_END)
    return f": {lines[-1][:200]}" if lines else ""


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
