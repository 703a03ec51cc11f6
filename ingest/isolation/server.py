"""The parser server: a small process that forks one worker per untrusted file.

Started by :mod:`ingest.isolation.process` as ``python -m ingest.isolation.server FD``, where
``FD`` is its end of a control socket (``SOCK_SEQPACKET``: one message per request). It imports
the parsers once (:data:`PRELOAD`), so a worker forked from it starts in about 3 ms instead of
the half second a fresh interpreter spends importing python-docx, python-pptx, openpyxl, lxml,
pypdfium2 and Tesseract. It is single-threaded and never reads a file itself.

A request is JSON (the task module, its options, the limits) with four descriptors attached:
a reply socket, the file's bytes (stdin), the result file (stdout) and an error file (stderr).
For each, the server forks a worker (:func:`ingest.isolation.child.work`) and, when it exits,
sends its exit status (negative: the signal that ended it) on the reply socket. Nothing a worker
does can outlive the ingest that asked for it:

- the ingesting process closes a reply socket to give up on a worker (its wall clock ran out),
  and the server then kills that worker at once;
- when the ingesting process dies (even by ``kill -9``) the control socket reaches end of file:
  the server kills every worker and exits;
- every worker asks the kernel for ``SIGKILL`` when the server dies (``PR_SET_PDEATHSIG``), so
  a killed server leaves no worker behind either.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import traceback
from typing import Any

# Imported once by the server so that workers start with them loaded (each is optional).
PRELOAD = (
    "lxml.etree",
    "lxml.html",
    "PIL.Image",
    "charset_normalizer",
    "docx",
    "pptx",
    "openpyxl",
    "olefile",
    "pypdfium2",
    "tesserocr",
    "ingest.isolation.child",
    "ingest.extractors.text",
    "ingest.extractors.markdown",
    "ingest.extractors.html",
    "ingest.extractors.docx",
    "ingest.extractors.xlsx",
    "ingest.extractors.pptx",
    "ingest.extractors.pdf",
    "ingest.extractors.hwp",
    "ingest.extractors.hwpx",
    "ingest.extractors.ocr",
)
# What the server reads of one request (JSON of the task and its options).
MAX_REQUEST_BYTES = 1 << 20
_PR_SET_PDEATHSIG = 1


class Server:
    """The fork loop: requests in, one worker each, exit statuses out."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.pid = os.getpid()
        self.prctl = _prctl()
        self.workers: dict[int, socket.socket | None] = {}  # pid -> its reply socket
        self.selector = selectors.DefaultSelector()
        self.wakeup_r, wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_r, False)
        os.set_blocking(wakeup_w, False)
        self.wakeup_w = wakeup_w
        signal.set_wakeup_fd(wakeup_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the loop through the pipe
        self.selector.register(control, selectors.EVENT_READ)
        self.selector.register(self.wakeup_r, selectors.EVENT_READ)

    def serve(self) -> None:
        """Run until the ingesting process closes the control socket (or dies)."""
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.control:
                    if not self._accept():
                        self._stop_all()
                        return
                elif key.fileobj == self.wakeup_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wakeup_r, 4096)
                else:
                    self._given_up(key.fileobj)  # type: ignore[arg-type]
            self._reap()

    def _accept(self) -> bool:
        """Take one request and fork its worker; False at the end of the control socket."""
        try:
            message, fds, _, _ = socket.recv_fds(self.control, MAX_REQUEST_BYTES, 4)
        except ConnectionError:
            return False
        if not message:
            return False
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            return True
        reply = socket.socket(fileno=fds[0])
        pid = os.fork()
        if pid == 0:
            self._work(json.loads(message), reply, fds[1:])
        for fd in fds[1:]:
            os.close(fd)
        self.workers[pid] = reply
        self.selector.register(reply, selectors.EVENT_READ, pid)
        return True

    def _work(self, request: dict[str, Any], reply: socket.socket, files: list[int]) -> None:
        """In the forked worker: drop the server's descriptors, run the task, never return."""
        status = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            if self.prctl is not None:  # SIGKILL when the server dies
                self.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != self.pid:  # it died before that took effect
                return
            for other in (reply, self.control, *filter(None, self.workers.values())):
                other.close()
            self.selector.close()
            os.close(self.wakeup_r)
            os.close(self.wakeup_w)
            for target, fd in enumerate(files):
                os.dup2(fd, target)
                os.close(fd)
            from ingest.isolation.child import work

            status = work(
                request["module"],
                request["options"],
                int(request["memory_mb"]),
                int(request["max_output_bytes"]),
            )
        except BaseException:
            with contextlib.suppress(BaseException):
                traceback.print_exc()
        finally:
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(status)

    def _given_up(self, reply: socket.socket) -> None:
        """The ingesting process closed (or wrote to) a reply socket: kill that worker."""
        pid = next(p for p, s in self.workers.items() if s is reply)
        self.selector.unregister(reply)
        reply.close()
        self.workers[pid] = None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # not reaped yet, so the pid is still this worker

    def _reap(self) -> None:
        """Collect every worker that ended and send its exit status to whoever waits."""
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            reply = self.workers.pop(pid, None)
            if reply is not None:
                self.selector.unregister(reply)
                code = os.waitstatus_to_exitcode(status)
                with contextlib.suppress(OSError):
                    reply.send(json.dumps({"status": code}).encode())
                reply.close()

    def _stop_all(self) -> None:
        """Kill and collect every worker: the ingest they belong to is gone."""
        for pid in list(self.workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in list(self.workers):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _prctl() -> Any:
    """Linux's ``prctl``, through which a worker asks to die with the server; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).prctl


def main() -> None:
    """Preload the parsers, then serve requests on the inherited control socket."""
    control = socket.socket(fileno=int(sys.argv[1]))
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    Server(control).serve()


if __name__ == "__main__":
    main()
