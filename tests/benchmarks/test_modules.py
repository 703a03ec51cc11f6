"""Every benchmark imports as the module ``make bench`` runs (``python -m benchmarks.NAME``).

The benchmarks are not part of the package, so nothing else would notice when a change in
``rag`` or ``ingest`` breaks one of their imports until someone runs it. They are imported in a
child interpreter, as ``make bench`` does, never into the tests' own process: tests and
benchmarks share what they both need through ``devkit``, not through each other.
"""

from __future__ import annotations

import json
import subprocess
import sys

from devkit.models import REPO

BENCHMARKS = sorted(path.stem for path in (REPO / "benchmarks").glob("*.py"))
CHECK = """
import importlib, json, sys
found = {}
for name in sys.argv[1:]:
    module = importlib.import_module(f"benchmarks.{name}")
    found[name] = callable(getattr(module, "main", None))
print(json.dumps(found))
"""


def test_there_are_benchmarks_to_check():
    assert {"retrieval", "followup", "structured", "calibrate"} <= set(BENCHMARKS)


def test_every_benchmark_imports_with_a_main():
    result = subprocess.run(
        [sys.executable, "-c", CHECK, *BENCHMARKS],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.splitlines()[-1])
    assert found == dict.fromkeys(BENCHMARKS, True)
