"""The child-process sandbox around parsers: every way a child can go wrong costs one error."""

from __future__ import annotations

import base64
import json
import time

import pytest

from ingest.isolation.process import run_isolated
from rag.errors import IngestError


def run(mode: str, data: bytes = b"input", **overrides: float) -> bytes:
    options = {"timeout_s": 30.0, "memory_mb": 256, "max_output_bytes": 1 << 20, **overrides}
    return run_isolated(
        "tests.support.isolation_child",
        data,
        options={"mode": mode, "memory_mb": options["memory_mb"]},
        timeout_s=options["timeout_s"],
        memory_mb=int(options["memory_mb"]),
        max_output_bytes=int(options["max_output_bytes"]),
        label="test parser",
    )


def test_result_comes_back_from_stdin_to_stdout():
    payload = bytes(range(256)) * 4096  # 1 MB in and back, through the worker's files
    answer = json.loads(run("echo", payload, max_output_bytes=2 << 20))
    assert base64.b64decode(answer["reversed"]) == payload[::-1]


def test_a_hang_is_killed_at_the_deadline():
    started = time.monotonic()
    with pytest.raises(IngestError, match=r"test parser ran past the 1-second limit"):
        run("hang", timeout_s=1)
    assert time.monotonic() - started < 20  # killed, not waited for


def test_a_crash_is_one_error():
    with pytest.raises(IngestError, match=r"test parser crashed \(SIGSEGV\)"):
        run("crash")


def test_memory_is_capped_in_the_child():
    with pytest.raises(
        IngestError,
        match=r"test parser ran out of its 256 MB memory limit \(ingest\.parser_memory_mb\)",
    ):
        run("allocate")


def test_output_is_capped():
    with pytest.raises(IngestError, match="produced more than 1,048,576 bytes of output"):
        run("flood")


def test_a_failure_reports_the_last_line_of_stderr():
    with pytest.raises(IngestError, match=r"exit status 1.*parser gave up on purpose"):
        run("fail")


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        b'{"blocks": [{"type": "script", "text": "x", "page": 1}], "notes": []}',
        b'{"blocks": [{"type": "text", "text": "x", "page": 0}], "notes": []}',
        b'{"blocks": [{"type": "figure", "image": "%%%", "captions": [], "page": 1}], "notes": []}',
    ],
)
def test_a_childs_answer_off_its_schema_is_one_error(answer: bytes):
    from ingest.loaders.isolated import _validated

    with pytest.raises(IngestError, match=r"^test parser returned malformed output$"):
        _validated(answer, "test parser")
