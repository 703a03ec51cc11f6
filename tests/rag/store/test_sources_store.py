"""What opens a source, kept alike on both backends: relative paths, page layouts, chunks by id.

A document keeps the path it is shown by (relative to where it was ingested from) and the word
boxes of its pages; both are replaced with the document, go with it, survive a change of its
groups (a commit of its stored chunks) and a copy into another store.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag.store import DocumentStore, PageLayout, Store, WordBox
from rag.store.copy import copy_store
from tests.support.passages import TEXTS, text_update
from tests.support.stores import BACKENDS, open_backend

PAGE_1 = PageLayout(
    1, (WordBox("연차", 0.1, 0.1, 0.2, 0.12), WordBox("휴가", 0.21, 0.1, 0.3, 0.12))
)
PAGE_2 = PageLayout(2, (WordBox("Passwords", 0.1, 0.5, 0.4, 0.53),))


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> DocumentStore:
    opened = open_backend(request, request.param, tmp_path / "data")
    request.addfinalizer(opened.close)
    opened.ensure_collection("c", "test-model", 8)
    return opened


def with_layouts(doc_id: str, text: str, seed: int, *layouts: PageLayout, path: str = ""):
    update = text_update(doc_id, text, seed)
    document = replace(update.document, relative_path=path)
    return replace(update, document=document, layouts=layouts)


def test_a_document_keeps_its_relative_path_and_its_page_layouts(store: DocumentStore):
    store.commit(
        "c", [with_layouts("leave", TEXTS["leave"], 1, PAGE_1, PAGE_2, path="hr/leave.md")]
    )
    [document] = store.documents("c")
    assert document.relative_path == "hr/leave.md" == document.shown_path
    assert document.source_path == "/docs/leave.md"
    assert store.page_layouts("c", "leave") == [PAGE_1, PAGE_2]
    assert store.page_layouts("c", "leave", 2) == [PAGE_2]
    assert store.page_layouts("c", "leave", 3) == []
    chunk = store.chunk("c", "leave-0")
    assert (
        chunk is not None and chunk.relative_path == "hr/leave.md" and chunk.text == TEXTS["leave"]
    )
    assert store.chunk("c", "nothing") is None
    assert store.chunk("other", "leave-0") is None


def test_a_record_without_a_relative_path_is_shown_by_its_file_name(store: DocumentStore):
    store.commit("c", [text_update("travel", TEXTS["travel"], 2)])
    [document] = store.documents("c")
    assert document.shown_path == "travel.md"  # never /docs/travel.md
    chunk = store.chunk("c", "travel-0")
    assert chunk is not None and chunk.shown_path == "travel.md"


def test_layouts_are_replaced_with_their_document_and_go_with_it(store: DocumentStore):
    store.commit("c", [with_layouts("leave", TEXTS["leave"], 1, PAGE_1, PAGE_2)])
    store.commit("c", [with_layouts("leave", TEXTS["leave"] + " 변경", 1, PAGE_2)])
    assert store.page_layouts("c", "leave") == [PAGE_2]
    store.remove_documents("c", ["leave"])
    assert store.page_layouts("c", "leave") == []


def test_a_change_of_groups_and_a_copy_keep_paths_and_layouts(store: DocumentStore, tmp_path: Path):
    store.commit("c", [with_layouts("leave", TEXTS["leave"], 1, PAGE_1, path="hr/leave.md")])
    [document] = store.documents("c")
    store.regroup("c", [document], ["hr"])
    [regrouped] = store.documents("c")
    assert regrouped.groups == ("hr",) and regrouped.relative_path == "hr/leave.md"
    assert store.page_layouts("c", "leave") == [PAGE_1]
    with Store(tmp_path / "copy") as target:
        copy_store(store, target)
        [copied] = target.documents("c")
        assert copied.relative_path == "hr/leave.md"
        assert target.page_layouts("c", "leave") == [PAGE_1]


def test_chunk_vectors_are_read_by_id(store: DocumentStore):
    updates = [text_update("leave", TEXTS["leave"], 1), text_update("travel", TEXTS["travel"], 2)]
    store.commit("c", updates)
    found = store.chunk_vectors("c", ["leave-0", "travel-0", "gone-0"])
    assert set(found) == {"leave-0", "travel-0"}
    for update in updates:
        np.testing.assert_allclose(found[update.chunks[0].id], update.chunks[0].vector, rtol=1e-6)
    assert store.chunk_vectors("c", []) == {}


def test_layout_json_round_trips_and_refuses_boxes_off_the_page():
    assert PageLayout.from_json(1, PAGE_1.to_json()) == PAGE_1
    with pytest.raises(ValueError):
        PageLayout.from_json(1, '[["x", 0.5, 0.1, 0.4, 0.2]]')  # right of its right edge
    with pytest.raises(TypeError):
        PageLayout.from_json(1, "[[1, 0.1, 0.1, 0.2, 0.2]]")
