"""Ingest failures keep their template and values, and the Korean interface has a line for each."""

from __future__ import annotations

import ast
import importlib
import json
import string
from pathlib import Path

import pytest
import streamlit as st

from devkit import documents as fx
from devkit.models import REPO
from ingest.file_limits import Limits
from ingest.loaders import load
from ingest.pipeline import Ingestor
from rag.errors import IngestError, Message
from rag.store import Store
from ui.web.i18n import LANGUAGE_KEY
from ui.web.korean import attach_particles
from ui.web.reasons import KOREAN, localized

INGEST = REPO / "ingest"


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


def _templates_in(path: Path) -> list[str]:
    """The first argument of every ``IngestError.because(...)`` in ``path``, resolved.

    A literal, a local name bound to literals (``template = "..."``), or a module-level table
    indexed by a key (every value of the table): anything else fails, so a template can never
    hide from this scan.
    """
    tree = ast.parse(path.read_text("utf-8"))
    bound: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant | ast.JoinedStr):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value, ast.Constant):
                    bound.setdefault(target.id, []).append(node.value.value)
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "because"
        ):
            continue
        argument = node.args[0]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            found.append(argument.value)
        elif isinstance(argument, ast.Name) and argument.id in bound:
            found.extend(bound[argument.id])
        elif isinstance(argument, ast.Name):  # a template another module defines
            found.append(getattr(importlib.import_module(_module_name(path)), argument.id))
        elif isinstance(argument, ast.Subscript) and isinstance(argument.value, ast.Name):
            table = getattr(importlib.import_module(_module_name(path)), argument.value.id)
            found.extend(table.values())
        else:
            pytest.fail(f"{path}:{node.lineno}: a template this scan cannot resolve")
    return found


def all_templates() -> set[str]:
    return {t for path in sorted(INGEST.rglob("*.py")) for t in _templates_in(path)}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_every_template_in_ingest_has_its_korean_line():
    templates = all_templates()
    assert len(templates) >= 40  # the scan sees the loaders, not just one file
    missing = sorted(templates - set(KOREAN))
    assert not missing, missing
    stale = sorted(set(KOREAN) - templates)
    assert not stale, stale  # a reworded template leaves its old translation behind


@pytest.mark.parametrize("template", sorted(KOREAN))
def test_a_korean_line_fills_the_same_fields(template: str):
    assert fields(KOREAN[template]) == fields(template)


def test_notes_keep_their_templates_through_the_child_and_read_in_korean(tmp_path: Path):
    note = Message.because("skipped OCR of page {page}: {error}", page=3, error="timeout")
    assert note == "skipped OCR of page 3: timeout"  # a note is its English text
    copy = Message.from_json(json.loads(json.dumps(note.to_json())))
    assert (copy, copy.template, copy.values) == (note, note.template, note.values)
    assert Message.from_json("plain text").template is None
    loaded = load(fx.workbook(tmp_path / "stock.xlsx"), (tmp_path / "stock.xlsx").read_bytes(),
                  Limits())  # fmt: skip
    assert [n.template for n in loaded.notes] == [
        "skipped hidden sheet {sheet!r}",
        "skipped empty sheet {sheet!r}",
    ]
    st.session_state[LANGUAGE_KEY] = "ko"
    try:
        korean = [localized(n) for n in loaded.notes]
    finally:
        del st.session_state[LANGUAGE_KEY]
    assert korean == [attach_particles(KOREAN[n.template].format(**n.values)) for n in loaded.notes]
    assert "'내부'는" in korean[0] and all("skipped" not in line for line in korean)


def test_a_child_error_crosses_the_process_boundary_with_its_template():
    error = IngestError.because("HWP stream {name} unpacks past {limit:,} bytes", name="S", limit=9)
    copy = IngestError.from_json(json.loads(json.dumps(error.to_json())))
    assert (copy.message, copy.message.template, copy.message.values) == (
        error.message,
        error.message.template,
        error.message.values,
    )
    # a compromised child's odd values are not trusted: the message stays, the template goes
    odd = {"error": {"text": "x", "template": "{a}", "values": {"a": ["nested"]}}}
    assert IngestError.from_json(odd).message.template is None
    assert str(IngestError.from_json(odd)) == "x"
    with pytest.raises(TypeError):  # not a message at all: the child's output is malformed
        IngestError.from_json({"error": ["x"]})


def test_real_failures_carry_templates_the_korean_interface_fills(
    store: Store, embeddings, tmp_path: Path
):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.md").write_bytes(b"\x00\x01\x02 not text")
    (folder / "fake.pdf").write_bytes(b"plain words, not a PDF")
    (folder / "png.docx").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    ingestor = Ingestor(store, embeddings, chunk_tokens=64, chunk_overlap=8, max_file_bytes=10_000)
    report = ingestor.ingest([folder], collection="default")
    assert len(report.failed) == 4
    st.session_state[LANGUAGE_KEY] = "ko"
    try:
        for failure in report.failed:
            reason = failure.error
            assert reason.template in KOREAN, failure
            assert reason.template.format(**reason.values) == reason
            korean = localized(reason)
            assert any("\uac00" <= ch <= "\ud7a3" for ch in korean), korean
            assert "image" not in korean  # the words filled in are translated too
        st.session_state[LANGUAGE_KEY] = "en"
        failure = report.failed[0]
        assert localized(failure.error) == failure.error
    finally:
        del st.session_state[LANGUAGE_KEY]
