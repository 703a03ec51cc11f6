"""The chat page's sources and its check, in-process: relevance as words, unsupported sentences.

The scripted model answers, so which sentence cites what is known: ``{1} [1]`` quotes passage 1
and cites it (supported); ``{1} [2]`` cites passage 2 for it (not supported, marked).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.models import EMBEDDING_MODEL, EXAMPLES
from ingest.pipeline import Ingestor
from rag.config import Settings
from rag.store import Store
from tests.support.apptest import ask, configure, en, source_lines, start
from ui.web.safe_markdown import literal_markdown
from ui.web.source_viewer import UNSUPPORTED_MARK, marked_answer, table_rows

QUESTION = "How long must passwords be?"


@pytest.fixture(scope="module")
def data(embeddings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("viewer") / "data"
    settings = Settings(data_dir=folder, embedding={"model": EMBEDDING_MODEL})
    with Store(folder) as store:
        Ingestor.from_settings(settings, store, embeddings).ingest([EXAMPLES], collection="default")
    return folder


@pytest.fixture
def app_env(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    configure(data, tmp_path, monkeypatch)
    return data


def test_sources_show_relevance_as_words_and_open_buttons(app_env: Path, monkeypatch):
    monkeypatch.setenv("BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER", "{1} [1]")
    at = ask(start(), QUESTION)
    lines = source_lines(at)
    assert lines[0].startswith("**\\[1\\]** " + literal_markdown("security-policy.md"))
    words = [line.rsplit("-badge[", 1)[1].rstrip("]") for line in lines]
    order = [en("relevance_high"), en("relevance_medium"), en("relevance_low")]
    assert words[0] == en("relevance_high")
    assert [order.index(w) for w in words] == sorted(order.index(w) for w in words)
    assert not any("0." in line for line in lines)  # no decimals shown
    opens = [b for b in at.chat_message[-1].button if b.label == en("open_source")]
    assert len(opens) == len(lines)
    assert not at.warning  # the answer's one sentence is what its source says


def test_an_unsupported_sentence_is_marked_and_listed(app_env: Path, monkeypatch):
    monkeypatch.setenv("BLLOSSOM_RAG_GENERATION__SCRIPTED_ANSWER", "{1} [2]")
    at = ask(start(), QUESTION)
    _, answer = at.chat_message
    assert answer.markdown[0].value.rstrip().endswith(f"[2\\] {UNSUPPORTED_MARK}")
    [note] = answer.warning
    # The note leads with the mark (Streamlit shows a leading emoji as the alert's icon).
    assert note.icon == UNSUPPORTED_MARK and "\\[2\\]" in note.value
    at.run()  # the mark stays when the conversation is drawn again
    _, again = at.chat_message
    assert again.markdown[0].value.rstrip().endswith(UNSUPPORTED_MARK)


def test_marks_go_after_the_sentences_they_mark():
    answer = "A is B [1]. C is D [2]."
    support = [
        {"end": 11, "supported": True},
        {"end": 23, "supported": False},
    ]
    assert marked_answer(answer, support) == f"A is B [1]. C is D [2]. {UNSUPPORTED_MARK}"


def test_rows_of_a_sheet_become_a_table():
    text = "[매출!2:3] 지역 | 목표\n서울 | 120억\n부산 | 45억"
    assert table_rows(text) == ("매출!2:3", ["지역", "목표"], [["서울", "120억"], ["부산", "45억"]])
    assert table_rows("그냥 문장입니다.") is None
    assert table_rows("a | b\nc | d | e") is None
