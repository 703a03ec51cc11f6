"""A misbehaving task for the isolation tests: ``extract`` does what ``options["mode"]`` says.

It runs in a real worker of the parser server (:mod:`ingest.isolation.server`), like every
format reader, so each failure the parent must survive really happens there.
"""

from __future__ import annotations

import base64
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any


def extract(data: bytes, options: dict[str, Any]) -> dict[str, Any]:
    mode = options["mode"]
    if mode == "echo":
        return {"reversed": base64.b64encode(data[::-1]).decode()}
    if mode == "hang":
        time.sleep(600)
    elif mode == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif mode == "allocate":
        hoard = bytearray(4 * int(options["memory_mb"]) * 1024 * 1024)
        return {"size": len(hoard)}
    elif mode == "flood":
        while True:
            sys.stdout.buffer.write(b"x" * 65536)
    elif mode == "pid":  # says who it is, then waits to be killed with its ingest
        Path(options["pid_file"]).write_text(str(os.getpid()))
        time.sleep(600)
    msg = "parser gave up on purpose"
    raise RuntimeError(msg)
