"""A Korean share of every new format, ingested and searched with paraphrased questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit import corpus as corpus
from devkit import documents as fx
from ingest.file_limits import Limits
from ingest.pipeline import Ingestor
from rag.retrieval.retriever import StoreRetriever
from rag.store import Store

# (question, gold file, gold page): none repeats the words of its passage exactly.
QUESTIONS = [
    ("신입 사원은 첫해에 휴가를 며칠 쓸 수 있나요?", "규정.hwp", None),
    ("입사 첫 해 연차 사용 한도는?", "규정.hwpx", None),
    ("BX-7731-KR 재고는 몇 개인가요?", "재고.xlsx", None),
    ("PX-2291-Q3는 어떤 발표의 프로젝트 코드인가?", "전략.pptx", 1),
    ("결제 서버 접속이 안 될 때 나오는 오류 번호", "오류.png", None),
    ("정보주체가 동의하면 개인정보를 모을 수 있는가", "법령.pdf", 1),
    ("필요한 최소한만 수집했다는 것은 누가 증명해야 하나", "법령.pdf", 2),
]


@pytest.fixture
def share(tmp_path: Path) -> Path:
    folder = tmp_path / "share"
    folder.mkdir()
    fx.hancom_document(folder / "규정.hwp")
    fx.hancom_document(folder / "규정.hwpx")
    fx.workbook(folder / "재고.xlsx")
    fx.deck(folder / "전략.pptx")
    fx.screenshot(folder / "오류.png")
    fx.scanned_pdf(folder / "법령.pdf")
    corpus.korean_pdf(folder / "보고서.pdf")  # distractors
    corpus.cp949_text(folder / "식당.txt")
    return folder


def test_every_new_format_is_found_by_paraphrased_questions(store: Store, embeddings, share: Path):
    ingestor = Ingestor(
        store, embeddings, chunk_tokens=256, chunk_overlap=32, max_file_bytes=50 * 1024 * 1024
    )
    report = ingestor.ingest([share], collection="default")
    assert report.failed == [] and len(report.ingested) == 8
    # 규정.hwp and 규정.hwpx are one document in two formats: both readers give the same
    # passages, which retrieval returns once (from whichever ranks first), so either names it
    hwp, hwpx = (
        sorted(c.text for c in store.document_chunks("default", d.id))
        for name in ("규정.hwp", "규정.hwpx")
        for [d] in [store.find_documents("default", str((share / name).resolve()))]
    )
    assert hwp == hwpx and hwp
    twins = {"규정.hwp": {"규정.hwp", "규정.hwpx"}, "규정.hwpx": {"규정.hwp", "규정.hwpx"}}
    retriever = StoreRetriever(store=store, embeddings=embeddings, k=5)
    for question, name, page in QUESTIONS:
        top = [(Path(h.chunk.source_path).name, h.chunk.page) for h in retriever.search(question)]
        names = twins.get(name, {name})
        assert any(n in names and (page is None or p == page) for n, p in top), (question, top)


def test_run_wide_notes_reach_the_report_once_and_legacy_files_name_the_modern_format(
    store: Store, embeddings, tmp_path: Path
):
    folder = tmp_path / "shots"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        fx.screenshot(folder / name)
    legacy = tmp_path / "예산.doc"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    ingestor = Ingestor(
        store,
        embeddings,
        chunk_tokens=256,
        chunk_overlap=32,
        max_file_bytes=1_000_000,
        limits=Limits(ocr_tessdata=str(tmp_path)),  # no language data: OCR unavailable
    )
    report = ingestor.ingest([folder, legacy], collection="default")
    assert len(report.ingested) == 2  # the screenshots are indexed without their text
    [notice] = report.notices
    assert notice.startswith("OCR is unavailable") and report.to_json()["notices"] == [notice]
    [failure] = report.failed
    assert failure.error.startswith("legacy Office file .doc: save it as .docx")
