"""A misbehaving child for the isolation tests: ``python -m tests.support.isolation_child MODE``.

It follows the protocol of :mod:`ingest.isolation.child` (limits first, input on stdin, result on
stdout) and then does what MODE says, so each failure the parent must survive really happens.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from ingest.isolation.process import MEMORY_EXIT, apply_limits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--max-output-bytes", type=int, required=True)
    parser.add_argument("mode", choices=["echo", "hang", "crash", "allocate", "flood", "fail"])
    args = parser.parse_args()
    apply_limits(args.memory_mb, args.max_output_bytes)
    data = sys.stdin.buffer.read()
    if args.mode == "echo":
        sys.stdout.buffer.write(data[::-1])
    elif args.mode == "hang":
        time.sleep(600)
    elif args.mode == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif args.mode == "allocate":
        try:
            hoard = bytearray(4 * args.memory_mb * 1024 * 1024)
        except MemoryError:
            sys.exit(MEMORY_EXIT)
        sys.stdout.write(str(len(hoard)))
    elif args.mode == "flood":
        while True:
            sys.stdout.buffer.write(b"x" * 65536)
    else:
        msg = "parser gave up on purpose"
        raise RuntimeError(msg)


if __name__ == "__main__":
    main()
