"""Child processes forked from a warm interpreter, so a test's second process skips the imports.

A test that needs a real second process (one killed with SIGKILL, two writing at once) used to start
``python -m tests.<child>``: each cold start imported torch, transformers, sentence-transformers,
onnxruntime and the project again, about 9 CPU-seconds on the 2-core machine, for a few seconds of
work. Here one server process (``python -m tests.support.forks``, started once per session by
:class:`Forks`) imports them once and forks every child from itself. A child is still its own
process, with its own memory, models, files and exit status, run with the test's arguments,
environment and working folder, and killing it touches neither the server nor the tests.

The trade-off is fork's. The server only imports modules: it never loads a model or runs an
OpenMP or ONNX Runtime thread pool, whose threads a child would not inherit. And a library that
reads the environment at import time saw the server's environment, which is the test session's;
the children's differ from it only in ``BLLOSSOM_RAG_*`` settings, read when a command runs.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import IO, Any

# What the children import anyway, most of it lazily (when a model loads).
PRELOAD = (
    "torch",
    "transformers",
    "sentence_transformers",
    "onnxruntime",
    "kiwipiepy",
    "faiss",
    "psycopg",
    "ui.cli",
    "ingest.pipeline",
    "rag.assistant",
    "rag.store.postgres",
    "tests.support.crash_child",
    "tests.support.postgres_child",
)


@dataclass(frozen=True)
class Finished:
    """A child that has exited: its exit status (``-N`` for signal N) and its output."""

    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Child:
    """A running child; :meth:`wait` reaps it."""

    pid: int
    forks: Forks
    output: Path

    def wait(self, timeout: float = 600) -> Finished:
        """Block until the child exits; past ``timeout`` seconds it is killed and this fails."""
        reply = self.forks.request({"wait": self.pid, "timeout": timeout})
        finished = Finished(reply["returncode"], self._read("stdout"), self._read("stderr"))
        if reply["timed_out"]:
            msg = f"child {self.pid} ran past {timeout} s: {finished.stderr[-2000:]}"
            raise TimeoutError(msg)
        return finished

    def _read(self, name: str) -> str:
        return (self.output / name).read_text(encoding="utf-8", errors="replace")


class Forks:
    """The client side: the server process and the requests it answers, one at a time."""

    def __init__(self, repo: Path) -> None:
        self.server = subprocess.Popen(
            [sys.executable, "-m", "tests.support.forks"],
            cwd=repo,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def start(
        self, module: str, args: list[str], *, env: dict[str, str], cwd: Path, output: Path
    ) -> Child:
        """Run ``python -m module *args`` as a forked child; its stdout and stderr go to files
        in the new folder ``output``."""
        output.mkdir()
        start = {"module": module, "args": args, "env": env, "cwd": str(cwd), "output": str(output)}
        return Child(self.request({"start": start})["pid"], self, output)

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.server.stdin and self.server.stdout
        self.server.stdin.write(json.dumps(message) + "\n")
        self.server.stdin.flush()
        reply = self.server.stdout.readline()
        assert reply, f"the fork server exited ({self.server.poll()})"
        return json.loads(reply)

    def close(self) -> None:
        """End the server (it reaps every child first) and reap it."""
        assert self.server.stdin
        self.server.stdin.close()
        self.server.wait(timeout=120)


def serve(requests: IO[str], replies: IO[str]) -> None:
    """Answer ``start`` (fork a child) and ``wait`` (reap one) until the input ends."""
    children: set[int] = set()
    for line in requests:
        message = json.loads(line)
        if "start" in message:
            pid = _fork(**message["start"], inherited=replies.fileno())
            children.add(pid)
            reply: dict[str, Any] = {"pid": pid}
        else:
            pid = message["wait"]
            children.discard(pid)
            reply = _reap(pid, message["timeout"])
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    for pid in children:  # never left running, and counted in the session's CPU time
        os.waitpid(pid, 0)


def _reap(pid: int, timeout: float) -> dict[str, Any]:
    """Wait for ``pid`` (polling, so a hung child can be killed at the deadline)."""
    deadline = time.monotonic() + timeout
    done, status = os.waitpid(pid, os.WNOHANG)
    while not done and time.monotonic() < deadline:
        time.sleep(0.05)
        done, status = os.waitpid(pid, os.WNOHANG)
    if not done:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    return {"returncode": os.waitstatus_to_exitcode(status), "timed_out": not done}


def _fork(
    module: str, args: list[str], env: dict[str, str], cwd: str, output: str, inherited: int
) -> int:
    pid = os.fork()
    if pid:
        return pid
    # The child: never return into the server's loop, whatever happens.
    code = 1
    try:
        os.close(inherited)  # the replies: only the server writes them
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        _redirect(0, os.devnull, os.O_RDONLY)  # the server's input is the tests' requests
        _redirect(1, str(Path(output, "stdout")), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        _redirect(2, str(Path(output, "stderr")), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        sys.argv = [module, *args]
        code = _run(module)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _redirect(fd: int, path: str, flags: int) -> None:
    opened = os.open(path, flags, 0o644)
    os.dup2(opened, fd)
    os.close(opened)


def _run(module: str) -> int:
    """``python -m module``'s exit status."""
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            return exit.code or 0
        print(exit.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def main() -> None:
    # Replies go to the original stdout; whatever else prints goes to stderr.
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    for name in PRELOAD:
        import_module(name)
    serve(sys.stdin, replies)


if __name__ == "__main__":
    main()
