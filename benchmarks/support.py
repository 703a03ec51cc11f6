"""The support check: how well it finds a wrong citation, and what it costs an answer.

The set (built here from ``../shared/datasets``, read in place): sentences an answer could say,
each paired once with the passage it comes from (a true citation) and once with a shuffled one
(a wrong citation):

- KorQuAD 1.0 (Korean) and XQuAD (English): the sentence is a question with its answer
  (``... 지명수배 된 날은 1989년 2월 15일.``), the true passage its paragraph; the shuffled
  passage is another paragraph of the same article for half of them (a wrong citation among
  passages on the same subject, the usual mistake) and of another article for the rest.
  Articles alternate between dev and test.
- The Korean-English news pairs: the sentence is a line in one language, the true passage its
  translation (an answer in Korean citing an English document, and the reverse), the shuffled
  one another line of the same split; dev and test are the corpus's own splits.

Four checks are fitted on dev and compared on test: overlap of Kiwi morphemes alone, the
cosine in the language-neutral space alone, both, and both with the cross-language terms (the
shipped model, :mod:`rag.generation.support`). Each flags a citation as wrong when its
probability is under a threshold chosen on dev as the highest recall of wrong citations at a
dev precision of at least :data:`TARGET_PRECISION`.

``--cost`` measures what the check adds to an answer on the CPU: the median time of the check
on answers citing three passages, against the median time of the answer itself from the
in-process generator (the offline tiny LLaVA-NeXT, 64 new tokens: far faster than
Bllossom-Vision, so the ratio is an upper bound), over the questions of ``examples/``.

Usage::

    python -m benchmarks.support            # fit on dev, report on test, write the model
    python -m benchmarks.support --cost     # the check's cost against the answer's
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.calibrate import fit_logistic
from benchmarks.retrieval import CACHE, CachedEmbeddings, news_lines
from devkit.datasets import DATASETS
from devkit.models import REPO
from rag.embeddings.calibration import CALIBRATIONS, design
from rag.embeddings.torch import SentenceTransformerEmbeddings
from rag.generation.support import SUPPORT_TERMS, support_features
from rag.retrieval.relevance import cross_language
from rag.runtime.files import atomic_write
from rag.text.language import detect_language
from rag.text.morphemes import tokenize_many

SEED = 0
PER_SOURCE = {"KorQuAD": 600, "XQuAD": 400, "news ko->en": 300, "news en->ko": 300}
TARGET_PRECISION = 0.9
SAME_ARTICLE = "same article"
OTHER = "other passage"
# Each check: its name and the columns of (dense, overlap, cross, dense x cross) it uses.
CHECKS = {
    "overlap only (Kiwi morphemes)": (1,),
    "dense only (neutral space)": (0,),
    "dense + overlap": (0, 1),
    "dense + overlap + cross-language (shipped)": (0, 1, 2, 3),
}
SHIPPED = "dense + overlap + cross-language (shipped)"
RESULTS = REPO / "benchmarks" / "results"


@dataclass(frozen=True)
class Pair:
    """A sentence and a passage it is said to come from."""

    source: str
    sentence: str
    passage: str
    true: bool
    shuffle: str = ""  # for a wrong citation: SAME_ARTICLE or OTHER


def _claim(question: str, answer: str) -> str:
    """A question with its answer, as a sentence an answer could say."""
    return f"{question.strip().rstrip('?？').strip()} {answer.strip()}."  # noqa: RUF001


def squad_pairs(file: str, source: str, split: str, rng: random.Random) -> list[Pair]:
    """True and shuffled citations of one SQuAD-format set's half of the articles."""
    data = json.loads((DATASETS / file).read_text("utf-8"))["data"]
    articles = [a for i, a in enumerate(data) if i % 2 == (0 if split == "dev" else 1)]
    everything = [p["context"] for a in articles for p in a["paragraphs"]]
    claims = [
        (article_index, paragraph["context"], _claim(qa["question"], qa["answers"][0]["text"]))
        for article_index, article in enumerate(articles)
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]
    rng.shuffle(claims)
    pairs = []
    for number, (article_index, context, claim) in enumerate(claims[: PER_SOURCE[source]]):
        pairs.append(Pair(source, claim, context, True))
        siblings = [
            p["context"] for p in articles[article_index]["paragraphs"] if p["context"] != context
        ]
        if number % 2 == 0 and siblings:
            pairs.append(Pair(source, claim, rng.choice(siblings), False, SAME_ARTICLE))
        else:
            other = rng.choice([p for p in everything if p != context])
            pairs.append(Pair(source, claim, other, False, OTHER))
    return pairs


def news_pairs(split: str, said: str, cited: str, rng: random.Random) -> list[Pair]:
    """A line citing its translation, and the same line citing another line of the split."""
    lines = news_lines(split)
    usable = [i for i in range(len(lines[said])) if lines[said][i] and lines[cited][i]]
    source = f"news {said}->{cited}"
    pairs = []
    for index in rng.sample(usable, PER_SOURCE[source]):
        other = rng.choice([i for i in usable if lines[cited][i] != lines[cited][index]])
        pairs.append(Pair(source, lines[said][index], lines[cited][index], True))
        pairs.append(Pair(source, lines[said][index], lines[cited][other], False, OTHER))
    return pairs


def pairs_of(split: str) -> list[Pair]:
    """The whole set of one split."""
    rng = random.Random(f"{SEED}-{split}")
    return [
        *squad_pairs("KorQuAD_v1.0_dev.json", "KorQuAD", split, rng),
        *squad_pairs("xquad.en.json", "XQuAD", split, rng),
        *news_pairs(split, "ko", "en", rng),
        *news_pairs(split, "en", "ko", rng),
    ]


def features(pairs: list[Pair], embeddings: CachedEmbeddings) -> np.ndarray:
    """``(dense, overlap, cross_language)`` of every pair, as the shipped check computes them."""
    space = embeddings.calibration.space
    sentences = sorted({p.sentence for p in pairs})
    passages = sorted({p.passage for p in pairs})
    said = dict(zip(sentences, space.queries(embeddings.encode_queries(sentences)), strict=True))
    cited = dict(zip(passages, space.passages(embeddings.encode_documents(passages)), strict=True))
    tokens = dict(zip(sentences + passages, tokenize_many(sentences + passages), strict=True))
    language = {text: detect_language(text) for text in sentences + passages}
    return support_features(
        [float(said[p.sentence] @ cited[p.passage]) for p in pairs],
        [tokens[p.sentence] for p in pairs],
        [tokens[p.passage] for p in pairs],
        [cross_language(language[p.sentence], language[p.passage]) for p in pairs],
    )


def threshold_for(probability: np.ndarray, wrong: np.ndarray) -> float:
    """The dev threshold: the most wrong citations flagged at precision >= the target."""
    best, best_recall = 0.0, -1.0
    for threshold in np.unique(np.round(probability, 4)):
        flagged = probability < threshold
        if not flagged.any():
            continue
        precision = float(wrong[flagged].mean())
        recall = float(flagged[wrong].mean())
        if precision >= TARGET_PRECISION and recall > best_recall:
            best, best_recall = float(threshold), recall
    return best


def scores(probability: np.ndarray, wrong: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision and recall of flagging wrong citations, and the share of true ones flagged."""
    flagged = probability < threshold
    return {
        "precision": float(wrong[flagged].mean()) if flagged.any() else 0.0,
        "recall": float(flagged[wrong].mean()),
        "true flagged": float(flagged[~wrong].mean()),
    }


def fit(matrix: np.ndarray, wrong: np.ndarray, columns: tuple[int, ...]) -> dict[str, Any]:
    """A check fitted on dev rows: its intercept and one weight per term (0 where unused)."""
    beta = fit_logistic(matrix[:, columns], (~wrong).astype(float), np.ones(len(wrong)))
    weights = dict.fromkeys(SUPPORT_TERMS, 0.0)
    for column, value in zip(columns, beta[1:], strict=True):
        weights[SUPPORT_TERMS[column]] = float(value)
    return {"intercept": float(beta[0]), "weights": weights}


def probabilities(model: dict[str, Any], matrix: np.ndarray) -> np.ndarray:
    """What a fitted check says of each row: the probability the citation is true."""
    weights = np.array([model["weights"][term] for term in SUPPORT_TERMS])
    return 1 / (1 + np.exp(-(model["intercept"] + matrix @ weights)))


def evaluate(embeddings: CachedEmbeddings) -> dict[str, Any]:
    """Fit every check on dev, report it on test; the shipped one per source too."""
    split_pairs = {split: pairs_of(split) for split in ("dev", "test")}
    matrix = {split: design(features(p, embeddings)) for split, p in split_pairs.items()}
    wrong = {split: np.array([not p.true for p in pairs]) for split, pairs in split_pairs.items()}
    rows, shipped = [], {}
    for name, columns in CHECKS.items():
        model = fit(matrix["dev"], wrong["dev"], columns)
        found = {split: probabilities(model, m) for split, m in matrix.items()}
        model["threshold"] = threshold_for(found["dev"], wrong["dev"])
        row = {"check": name, "threshold": model["threshold"]}
        for split in ("dev", "test"):
            measured = scores(found[split], wrong[split], model["threshold"])
            row.update({f"{split} {key}": value for key, value in measured.items()})
        rows.append(row)
        if name == SHIPPED:
            shipped = model
            shipped["flagged on test"] = flagged_by_part(
                split_pairs["test"], found["test"], model["threshold"]
            )
    return {"rows": rows, "model": shipped, "pairs": {s: len(p) for s, p in split_pairs.items()}}


def flagged_by_part(
    pairs: list[Pair], probability: np.ndarray, threshold: float
) -> dict[str, float]:
    """The share flagged of each source's true citations and of each kind of shuffle."""
    parts: dict[str, list[bool]] = {}
    for pair, value in zip(pairs, probability, strict=True):
        kind = "wrong, " + pair.shuffle if not pair.true else "true"
        parts.setdefault(f"{pair.source} / {kind}", []).append(bool(value < threshold))
    return {part: sum(flags) / len(flags) for part, flags in sorted(parts.items())}


def write_model(model: dict[str, Any], name: str, sizes: dict[str, int]) -> Path:
    """``<calibration>.support.json`` beside the embedder's calibration."""
    path = CALIBRATIONS / f"{name}.support.json"
    meta = {
        "model": name,
        "intercept": model["intercept"],
        "weights": model["weights"],
        "threshold": model["threshold"],
        "target_precision": TARGET_PRECISION,
        "fitted_on": f"dev: {sizes['dev']} pairs (KorQuAD, XQuAD, news ko<->en; true and shuffled)",
        "command": "python -m benchmarks.support",
        "date": datetime.date.today().isoformat(),
    }
    atomic_write(path, (json.dumps(meta, ensure_ascii=False, indent=1) + "\n").encode())
    return path


def cost(model_dir: Path, rounds: int) -> dict[str, Any]:
    """Median seconds of the check and of the answer, on the questions of ``examples/``."""
    from ingest.pipeline import Ingestor
    from rag.assistant import Assistant
    from rag.config import Settings
    from rag.generation.result import ChainResult
    from rag.generation.support import SupportCheck

    questions = [
        "입사 첫해에는 연차 휴가를 최대 며칠까지 쓸 수 있나요?",
        "How long must passwords be?",
        "출장 경비는 언제까지 청구하나요?",
        "병가는 연간 며칠까지 쓸 수 있나요?",
        "What are documents classified as?",
        "고객 지원은 몇 시까지 하나요?",
    ]
    with tempfile.TemporaryDirectory() as folder:
        base = {
            "data_dir": Path(folder),
            "device": "cpu",
            "embedding": {"model": str(model_dir / "multilingual-e5-small")},
        }
        answering = Assistant(
            Settings(
                **base,
                generation={"model": str(model_dir / "tiny-llava-next"), "max_new_tokens": 64},
            )
        )
        scripted = Assistant(
            Settings(
                **base,
                generation={
                    "model": str(model_dir / "tiny-llava-next"),  # its processor budgets the prompt
                    "scripted_answer": "{1} [1] {2} [2] {3} [3]",
                },
            )
        )
        store = answering.store
        Ingestor.from_settings(answering.settings, store, answering.embeddings).ingest(
            [REPO / "examples"], collection="default"
        )
        check = SupportCheck.for_embeddings(answering.embeddings, store)
        answer_s, check_s, sentences = [], [], []
        for round_ in range(rounds + 1):
            for question in questions:
                started = time.perf_counter()
                ChainResult.of(answering.chain().invoke({"question": question}))
                answered = time.perf_counter() - started
                cited = ChainResult.of(scripted.chain().invoke({"question": question}))
                started = time.perf_counter()
                checked = check.check(cited.answer, cited.documents)
                checking = time.perf_counter() - started
                if round_:  # the first round warms the models
                    answer_s.append(answered)
                    check_s.append(checking)
                    sentences.append(len(checked))
        answering.close()
    return {
        "answers": len(answer_s),
        "cited sentences per answer": statistics.median(sentences),
        "answer median s": statistics.median(answer_s),
        "check median s": statistics.median(check_s),
        "check / answer": statistics.median(check_s) / statistics.median(answer_s),
    }


def machine() -> str:
    """What the numbers were measured on."""
    return f"{platform.machine()}, {os.cpu_count()} cores, CPU only"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cost", action="store_true", help="measure the check's cost")
    parser.add_argument("--rounds", type=int, default=3, help="--cost: rounds of questions")
    parser.add_argument("--no-write", action="store_true", help="do not write the model file")
    args = parser.parse_args()
    models = Path(os.environ.get("OFFLINE_MODELS_DIR", REPO / ".models"))
    if args.cost:
        result = cost(models, args.rounds)
        print(json.dumps(result, indent=1))
        save(
            "support-cost",
            "python -m benchmarks.support --cost",
            "the answer itself (in-process tiny LLaVA-NeXT, 64 new tokens)",
            result,
        )
        return
    inner = SentenceTransformerEmbeddings.load(str(models / "multilingual-e5-small"), device="cpu")
    embeddings = CachedEmbeddings(inner, CACHE)
    result = evaluate(embeddings)
    print(f"pairs: {result['pairs']}")
    print(
        "| check | threshold | dev precision | dev recall "
        "| test precision | test recall | test: true citations flagged |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    columns = ("dev precision", "dev recall", "test precision", "test recall", "test true flagged")
    for row in result["rows"]:
        cells = [row["check"], f"{row['threshold']:.3f}", *(f"{row[c]:.3f}" for c in columns)]
        print(f"| {' | '.join(cells)} |")
    print("\nflagged on test by the shipped check:")
    for part, share in result["model"]["flagged on test"].items():
        print(f"  {part}: {share:.3f}")
    save(
        "support",
        "python -m benchmarks.support",
        "overlap of Kiwi morphemes alone; the neutral-space cosine alone",
        result,
    )
    if not args.no_write:
        print(write_model(result["model"], embeddings.calibration.name, result["pairs"]))


def save(name: str, command: str, baseline: str, result: dict[str, Any]) -> None:
    """``results/<name>.json``: the numbers with their machine, date, command and baseline."""
    record = {
        "benchmark": name,
        "command": command,
        "machine": machine(),
        "date": datetime.date.today().isoformat(),
        "baseline": baseline,
        "results": result,
    }
    text = json.dumps(record, ensure_ascii=False, indent=1) + "\n"
    atomic_write(RESULTS / f"{name}.json", text.encode())


if __name__ == "__main__":
    main()
