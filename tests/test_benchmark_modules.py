"""Every benchmark imports as the module ``make bench`` runs (``python -m benchmarks.NAME``).

The benchmarks are not part of the package, so nothing else would notice when a change in
``rag`` or ``ingest`` breaks one of their imports until someone runs it.
"""

from __future__ import annotations

import importlib

import pytest

from tests.conftest import REPO

BENCHMARKS = sorted(path.stem for path in (REPO / "benchmarks").glob("*.py"))


def test_there_are_benchmarks_to_check():
    assert {"retrieval", "followup", "structured", "calibrate"} <= set(BENCHMARKS)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_imports_with_a_main(name: str):
    module = importlib.import_module(f"benchmarks.{name}")
    assert callable(module.main)
