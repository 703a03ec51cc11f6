"""A scanned statute asked in paraphrase: how often the gold page is in the top 5.

The statute of ``data/legal`` is laid out on A4 pages (NanumGothic 12 pt, 200 dpi) and written
twice as PDFs with the same pages: **text**, with a text layer (what a born-digital PDF gives),
and **scan**, the same pages as images only, each tilted 0.5 degrees (what a copier gives:
read by OCR). Each PDF is ingested alone into a fresh store through the real ``Ingestor``
(loaders, the OCR child, structure-aware chunks) with the default settings, as ``ingest``
would, and the statute's paraphrased questions of ``data/legal/questions.json`` (Korean and
English, dev and test: nothing is tuned here) are asked through the retriever the CLI, the UI
and the API use (hybrid, top 5). A question is found when a passage from a page its gold
article is printed on is among them; reported with no relevance floor, the fixed
``min_relevance`` and the default adaptive floor.

    python -m benchmarks.scanned [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

from benchmarks.ingest import default_model
from devkit.statute import STATUTE, gold_pages, lay_out, write_pdf
from ingest.pipeline import Ingestor
from rag.assistant import Assistant
from rag.config import Settings

K = 5


def measure(pdf: Path, questions: list[dict], golds: list[set[int]], folder: Path) -> dict:
    """Ingest ``pdf`` alone into a fresh store; recall@5 by gold page under each floor."""
    settings = Settings(data_dir=folder, device="cpu", embedding={"model": default_model()})
    assistant = Assistant(settings)
    started = time.perf_counter()
    report = Ingestor.from_settings(settings, assistant.store, assistant.embeddings).ingest(
        [pdf], collection="statute"
    )
    ingest_s = time.perf_counter() - started
    base = assistant.retriever("statute")
    retrievers = {
        "none": base.model_copy(update={"min_relevance": 0.0}),
        "fixed": base.model_copy(update={"relevance_floor": "fixed"}),
        "adaptive": base,
    }
    found: dict[str, dict[str, list[bool]]] = {name: {"ko": [], "en": []} for name in retrievers}
    for row, gold in zip(questions, golds, strict=True):
        for name, retriever in retrievers.items():
            pages = {d.metadata.get("page") for d in retriever.invoke(row["question"])[:K]}
            found[name][row["language"]].append(bool(pages & gold))
    result = {
        "pdf": pdf.name,
        "chunks": assistant.store.collection("statute").chunks,
        "ingest_s": round(ingest_s, 1),
        "failed": [f"{f.path}: {f.error}" for f in report.failed],
        "adaptive_floor": base.floor(),
    }
    for name, by_language in found.items():
        for language, flags in by_language.items():
            result[f"{name} {language}"] = sum(flags) / len(flags)
    assistant.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # fpdf's font subsetting chatter
    text = STATUTE.read_text("utf-8")
    pages = lay_out(text)
    rows = json.loads((STATUTE.parent / "questions.json").read_text("utf-8"))
    questions = [r for r in rows if r["file"] == STATUTE.name and r["article"]]
    golds = [gold_pages(text, pages, r["article"]) for r in questions]
    count = {lang: sum(r["language"] == lang for r in questions) for lang in ("ko", "en")}
    print(f"{len(pages)} pages; {count['ko']} Korean and {count['en']} English questions")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for kind in ("text", "scan"):
            pdf = write_pdf(pages, root / f"{kind}.pdf", scanned=kind == "scan")
            results.append(measure(pdf, questions, golds, root / f"store-{kind}"))
            print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    print("\n| PDF | chunks | ingest s | floor | R@5 ko: none / fixed / adaptive "
          "| R@5 en: none / fixed / adaptive |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | --- | --- |")
    for r in results:
        cells = [
            r["pdf"],
            str(r["chunks"]),
            f"{r['ingest_s']:.1f}",
            f"{r['adaptive_floor']:.4f}",
            " / ".join(f"{r[f'{n} ko']:.3f}" for n in ("none", "fixed", "adaptive")),
            " / ".join(f"{r[f'{n} en']:.3f}" for n in ("none", "fixed", "adaptive")),
        ]
        print(f"| {' | '.join(cells)} |")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
