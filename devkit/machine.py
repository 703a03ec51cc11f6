"""The machine a benchmark ran on, in the words of the tables: cores, CPU, memory, load."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    """E.g. ``2-core Intel(R) Xeon(R) Processor, 23 GiB, CPU only, load average 4.8 ...``."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()}-core {cpu}, {memory:.0f} GiB, CPU only, load average {load:.1f} "
        f"at the start; Python {platform.python_version()}"
    )
