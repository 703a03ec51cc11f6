"""Chunking on documents with structure: today's plain chunker against the structure-aware one.

Sets (read in place, nothing copied):

- **KorQuAD / XQuAD articles**: each article of KorQuAD 1.0 dev (140) and XQuAD-en (48) becomes
  one Markdown file: ``# title``, then ``## 문단 i`` (``## Paragraph i``) above each of its
  paragraphs. Questions are the retrieval benchmark's samples (``--split dev``: 500 KorQuAD,
  190 XQuAD, for choices; ``test``: 1,000 each, for the table). A retrieved chunk is a hit
  when it overlaps the question's paragraph ("paragraph"), or, stricter, when it contains the
  answer span ("answer").
- **legal** (``benchmarks/data/legal``, written for this benchmark): one statute of 8 chapters
  and 48 articles with clauses and items (five of them longer than a 256-token chunk) and ten
  amendment bills that share its title line, as plain ``.txt``; Korean and English questions,
  paraphrased, each with the article it asks about (or only the bill). A hit overlaps the gold
  article.
- **charter** (``benchmarks/data/charter``, likewise): a constitution-style text of 70 short
  articles without titles (most of one or two sentences, so several fit one chunk) under ten
  chapters and three sections, with its own Korean and English questions.

The statute sets split their questions by position in ``questions.json``: even positions (0, 2,
...) are ``dev`` (the choices were made on them), odd ones ``test`` (the table).

Variants, all through the real loaders, outline and chunker (256 tokens, overlap 32), embedded
with the same embedder (vectors cached on disk by text), committed to a real store and searched
with :class:`~rag.retrieval.retriever.StoreRetriever` (dense and hybrid):

- ``plain``: ``chunk_structure = false``, the chunker before this change (sentences packed
  across headings, no path);
- ``structure``: sections and units, each chunk starting with its heading path's line;
- ``no-path-line``: the same chunks without that line, in the embedded and the indexed text.

Usage::

    python -m benchmarks.structured --split dev          # choices
    python -m benchmarks.structured --split test         # the table in docs/benchmarks.md
    python -m benchmarks.structured --sets legal --variants plain,structure
    python -m benchmarks.structured --sets legal,charter --split dev --explain   # the misses
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from benchmarks.retrieval import CACHE, DATASETS, DEV_QUERIES, TEST_QUERIES, CachedEmbeddings
from devkit.statute import article_span
from ingest.chunking.chunker import PATH_SEPARATOR, TokenChunker
from ingest.chunking.outline import sections
from ingest.chunking.spans import TextChunk
from ingest.file_limits import Limits
from ingest.identity import chunk_id
from ingest.loaders import load
from rag.config import Settings
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.retrieval.retriever import RetrievalMode, StoreRetriever
from rag.store import DocumentRecord, DocumentUpdate, NewChunk, Store
from rag.text import headings

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
STATUTES = ("legal", "charter")  # sets of statute-like texts, asked in Korean and English
COLLECTION = "bench"
VARIANTS = ("plain", "structure", "no-path-line")
MODES: tuple[RetrievalMode, ...] = ("dense", "bm25", "hybrid")
K = 5
LOWER_FLOORS = (0.01, 0.02)  # relevance floors below the default, to see what each would keep


@dataclass(frozen=True)
class Question:
    """A question, the document it is about, and where its gold text lies in that document."""

    text: str
    source: str  # file name of its document
    gold: tuple[int, int]  # span of the gold paragraph or article in the document's text
    answer: tuple[int, int] | None = None  # span of the answer, where the set has one
    language: str = ""


@dataclass
class Corpus:
    """A set's documents (file name -> text) and its questions."""

    name: str
    files: dict[str, str] = field(default_factory=dict)  # file name -> text
    questions: list[Question] = field(default_factory=list)


def squad_corpus(file: str, name: str, heading: str, split: str) -> Corpus:
    """Articles as Markdown files with a heading per paragraph; the split's question sample."""
    data = json.loads((DATASETS / file).read_text("utf-8"))["data"]
    corpus = Corpus(name)
    asked = []
    for number, article in enumerate(data):
        title = article.get("title", f"{number}").replace("_", " ")
        parts, spans = [f"# {title}\n"], []
        position = len(parts[0])
        for index, paragraph in enumerate(article["paragraphs"], start=1):
            head = f"\n## {heading} {index}\n"
            position += len(head)
            spans.append(position)
            parts.extend([head, paragraph["context"], "\n"])
            position += len(paragraph["context"]) + 1
            for qa in paragraph["qas"]:
                answer = qa["answers"][0]
                start = spans[-1] + int(answer["answer_start"])
                gold = (spans[-1], spans[-1] + len(paragraph["context"]))
                asked.append(
                    (
                        qa["question"],
                        f"a{number:03d}.md",
                        gold,
                        (start, start + len(answer["text"])),
                    )
                )
        corpus.files[f"a{number:03d}.md"] = "".join(parts)
    # The same permutation and slices as benchmarks/retrieval.py (questions in dataset order).
    random.Random(0).shuffle(asked)
    chosen = (
        asked[:TEST_QUERIES]
        if split == "test"
        else asked[TEST_QUERIES : TEST_QUERIES + DEV_QUERIES]
    )
    corpus.questions = [Question(q, s, g, a) for q, s, g, a in chosen]
    return corpus


def statute_corpus(name: str, split: str) -> Corpus:
    """A statute set's texts with its ``split`` of questions (even positions dev, odd test)."""
    folder = DATA / name
    corpus = Corpus(name)
    for path in sorted(folder.glob("*.txt")):
        corpus.files[path.name] = path.read_text("utf-8")
    rows = json.loads((folder / "questions.json").read_text("utf-8"))
    for row in rows[(split == "test") :: 2]:
        text = corpus.files[row["file"]]
        gold = article_span(text, row["article"]) if row["article"] else (0, len(text))
        corpus.questions.append(Question(row["question"], row["file"], gold, None, row["language"]))
    return corpus


def build(corpus: Corpus, variant: str, embeddings: CachedEmbeddings, folder: Path) -> Store:
    """The corpus chunked by ``variant``, embedded and committed to a new store."""
    chunker = TokenChunker(embeddings.tokenizer, 256, 32, structure=variant != "plain")
    limits = Limits()
    names = list(corpus.files)
    streams = []
    for name in names:
        loaded = load(Path(name), corpus.files[name].encode(), limits)
        streams.append(sections(loaded.blocks, structure=chunker.structure))
    chunks: dict[int, list[TextChunk]] = {}
    for number, chunk in chunker.chunk_documents(streams):
        assert isinstance(chunk, TextChunk)
        chunks.setdefault(number, []).append(chunk)
    store = Store(folder)
    store.ensure_collection(COLLECTION, embeddings.name, embeddings.dimension)
    stored = {
        number: [
            (_heading(chunk, variant), chunk.passage, _embedded(chunk, variant)) for chunk in found
        ]
        for number, found in chunks.items()
    }
    pairs = {
        headings.compose(heading, passage): embedded
        for found in stored.values()
        for heading, passage, embedded in found
    }
    vectors = dict(zip(pairs, embeddings.encode_documents(list(pairs.values())), strict=True))
    updates = []
    for number, found in stored.items():
        name = names[number]
        record = DocumentRecord(name, COLLECTION, name, name, len(corpus.files[name]), 0.0)
        rows = {
            chunk_id(name, None, headings.compose(heading, passage)): (heading, passage)
            for heading, passage, _ in found
        }
        updates.append(
            DocumentUpdate(
                record,
                [
                    NewChunk(
                        id=cid,
                        ordinal=i,
                        text=passage,
                        tokens=0,
                        vector=vectors[headings.compose(heading, passage)],
                        heading=heading,
                    )
                    for i, (cid, (heading, passage)) in enumerate(rows.items())
                ],
            )
        )
    store.commit(COLLECTION, updates)
    store.refresh(COLLECTION)
    return store


def _heading(chunk: TextChunk, variant: str) -> str:
    return "" if variant == "no-path-line" else PATH_SEPARATOR.join(chunk.path)


def _embedded(chunk: TextChunk, variant: str) -> str:
    return chunk.passage if variant == "no-path-line" else chunk.text


def spans(text: str, passage: str) -> tuple[int, int] | None:
    """Where a retrieved passage lies in its document's text (its lines found in order)."""
    lines = [line.strip() for line in passage.split("\n") if line.strip()]
    if not lines:
        return None
    first = text.find(lines[0])
    if first < 0:
        return None
    cursor, last = first, first + len(lines[0])
    for line in lines[1:]:
        found = text.find(line, cursor)
        if found < 0:
            break
        cursor, last = found, found + len(line)
    return first, last


def evaluate(
    corpus: Corpus,
    store: Store,
    embeddings: CachedEmbeddings,
    mode: RetrievalMode,
    *,
    explain: bool = False,
) -> dict[str, float]:
    """Recall@1 and @5 (paragraph or article overlap; answer span where there is one).

    ``f@5`` is recall@5 with the default relevance floor applied (``min_relevance``, adaptive:
    ``floor`` is the value it took in this collection): a gold hit below it is lost;
    ``f@5 fixed`` with ``min_relevance`` itself, ``f@5 0.01`` and so on with the lower fixed
    floors of :data:`LOWER_FLOORS`. With ``explain``, each question whose first result misses
    its gold is printed with its top 3 (dense, keyword and fused scores, relevance).
    """
    retriever = StoreRetriever(
        store=store, embeddings=embeddings, collection=COLLECTION, k=K, mode=mode
    )
    fixed = Settings().retrieval.min_relevance
    embeddings.encode_queries([q.text for q in corpus.questions])  # fill the cache in batches
    adaptive = retriever.model_copy(update={"min_relevance": fixed}).floor()
    floors = {"f@5": adaptive, "f@5 fixed": fixed, **{f"f@5 {v}": v for v in LOWER_FLOORS}}
    hits: dict[str, list[float]] = {key: [] for key in ("p@1", "p@5", "a@1", "a@5", *floors)}
    for question in corpus.questions:
        ranked = retriever.invoke(question.text)
        overlap = [_overlaps(corpus, question, document, question.gold) for document in ranked]
        contains = [
            question.answer is not None
            and _overlaps(corpus, question, document, question.answer, within=True)
            for document in ranked
        ]
        gold = max(
            (d.metadata["relevance"] for flag, d in zip(overlap, ranked, strict=True) if flag),
            default=-1.0,
        )
        for key, flags in (("p", overlap), ("a", contains)):
            hits[f"{key}@1"].append(float(any(flags[:1])))
            hits[f"{key}@5"].append(float(any(flags[:K])))
        for key, value in floors.items():
            hits[key].append(float(gold >= value))
        if explain and mode == "hybrid" and not any(overlap[:1]):
            _explain(retriever, question, overlap)
    return {"floor": adaptive, **{key: sum(v) / len(v) for key, v in hits.items() if v}}


def _overlaps(
    corpus: Corpus,
    question: Question,
    document: Document,
    gold: tuple[int, int],
    *,
    within: bool = False,
) -> bool:
    """Whether a retrieved passage overlaps ``gold`` (or, ``within``, contains all of it)."""
    name = document.metadata["source"]
    where = spans(corpus.files[name], document.page_content) if name == question.source else None
    if where is None:
        return False
    if within:
        return where[0] <= gold[0] and gold[1] <= where[1]
    return where[0] < gold[1] and gold[0] < where[1]


def _explain(retriever: StoreRetriever, question: Question, overlap: list[bool]) -> None:
    """A missed question's top 3 with each signal's score, and where its gold came."""
    ranked = retriever.ranked(question.text)
    found = ranked.found
    relevance = {hit.chunk.id: hit.relevance for hit in retriever.search(question.text)}
    gold = next((i + 1 for i, flag in enumerate(overlap) if flag), None)
    print(f"MISS [{question.language}] {question.text}  gold: {question.source} at {gold}")
    for place, hit in enumerate(ranked.hits[:3], start=1):
        vid = hit.chunk.vector_id
        heading, passage = hit.chunk.heading, hit.chunk.text
        print(
            f"  {place}. dense {found.dense.get(vid, 0):.3f} kw {found.keyword.get(vid, 0):.2f}"
            f" fused {hit.score:.3f} rel {relevance.get(hit.chunk.id, 0) or 0:.3f}"
            f" | {hit.chunk.source_path} | {heading} | {' '.join(passage.split())[:60]}"
        )


def subsets(corpus: Corpus) -> Iterator[tuple[str, Corpus]]:
    """The corpus, and for a statute set its Korean and English questions apart."""
    if corpus.name not in STATUTES:
        yield corpus.name, corpus
        return
    for language in ("ko", "en"):
        part = Corpus(
            corpus.name, corpus.files, [q for q in corpus.questions if q.language == language]
        )
        yield f"{corpus.name} ({language}, {len(part.questions)} q)", part


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--sets", default="korquad,xquad,legal,charter")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="Comma-separated subset.")
    parser.add_argument(
        "--modes", default="dense,hybrid", help="Comma-separated: dense, bm25, hybrid."
    )
    parser.add_argument("--model", default=None, help="Embedder (default: the offline e5-small).")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument(
        "--explain", action="store_true", help="Print each miss at rank 1 with its top 3."
    )
    args = parser.parse_args()
    from benchmarks.ingest import default_model

    inner = SentenceTransformerEmbeddings.load(args.model or default_model(), device="cpu")
    embeddings = CachedEmbeddings(inner, CACHE)
    makers = {
        "korquad": lambda: squad_corpus(
            "KorQuAD_v1.0_dev.json", "KorQuAD articles (ko)", "문단", args.split
        ),
        "xquad": lambda: squad_corpus(
            "xquad.en.json", "XQuAD articles (en)", "Paragraph", args.split
        ),
        **{name: (lambda name=name: statute_corpus(name, args.split)) for name in STATUTES},
    }
    variants = [v for v in VARIANTS if v in args.variants.split(",")]
    modes: list[RetrievalMode] = [m for m in MODES if m in args.modes.split(",")]
    results = []
    for key in args.sets.split(","):
        corpus = makers[key]()
        for variant in variants:
            started = time.perf_counter()
            with (
                tempfile.TemporaryDirectory() as folder,
                build(corpus, variant, embeddings, Path(folder)) as store,
            ):
                chunks = store.collection(COLLECTION).chunks
                for name, part in subsets(corpus):
                    for mode in modes:
                        scores = evaluate(part, store, embeddings, mode, explain=args.explain)
                        results.append(
                            {
                                "set": name,
                                "variant": variant,
                                "mode": mode,
                                "chunks": chunks,
                                **scores,
                            }
                        )
                        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
            print(f"{corpus.name} {variant}: {time.perf_counter() - started:.0f} s", flush=True)
    print_table(results, args.split)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))


def print_table(results: list[dict], split: str) -> None:
    """The Markdown table of docs/benchmarks.md."""
    print(f"\n{split} split; R@1 / R@5. A hit overlaps the gold paragraph or article; "
          "'answer': the hit contains the answer span; 'floor': with the default relevance "
          "floor (adaptive; the value it took), 'fixed': min_relevance itself.\n")  # fmt: skip
    print("| set | chunking | chunks | dense | hybrid | hybrid, answer "
          "| hybrid R@5, floor | fixed |")  # fmt: skip
    print("| --- | --- | ---: | --- | --- | --- | ---: | ---: |")
    rows: dict[tuple[str, str], dict[str, dict]] = {}
    for row in results:
        rows.setdefault((row["set"], row["variant"]), {})[row["mode"]] = row
    for (name, variant), modes in rows.items():
        dense, hybrid = modes.get("dense", {}), modes.get("hybrid", {})
        chunks = next(iter(modes.values()))["chunks"]
        answer = _pair(hybrid, "a") if name.startswith(("KorQuAD", "XQuAD")) else "-"
        floor = f"{hybrid['f@5']:.3f} ({hybrid['floor']:.4f})" if "f@5" in hybrid else "-"
        fixed = f"{hybrid['f@5 fixed']:.3f}" if "f@5" in hybrid else "-"
        cells = [name, variant, str(chunks), _pair(dense, "p"), _pair(hybrid, "p"), answer]
        cells += [floor, fixed]
        print(f"| {' | '.join(cells)} |")


def _pair(row: dict, key: str) -> str:
    if f"{key}@1" not in row:
        return "-"
    return f"{row[key + '@1']:.3f} / {row[key + '@5']:.3f}"


if __name__ == "__main__":
    main()
