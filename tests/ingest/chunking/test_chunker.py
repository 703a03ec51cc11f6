"""Token-sized, sentence-aligned chunks measured with the embedder's tokenizer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ingest.chunking.chunker import TokenChunker

KOREAN = (
    "한빛테크는 2010년에 설립되었습니다. 본사는 서울에 있습니다. "
    "직원은 약 300명이며 연구소는 대전에 있습니다! 주요 제품은 클라우드 노트입니다?\n"
    "두 번째 문단입니다. 여기에는 복리후생 내용이 들어갑니다."
)


@pytest.fixture(scope="module")
def tokenizer(embeddings):
    return embeddings.tokenizer


def count(tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False))


def test_chunks_respect_budget_and_end_at_sentences(tokenizer):
    chunker = TokenChunker(tokenizer, chunk_tokens=20, overlap_tokens=0)
    chunks = chunker.split(KOREAN)
    assert len(chunks) > 2
    for chunk in chunks:
        assert count(tokenizer, chunk.text) <= 20 + 2  # sentence sums, measured again
        assert chunk.text.endswith(("다.", "다!", "다?"))
    assert "".join(c.text for c in chunks).replace(" ", "").replace("\n", "") == KOREAN.replace(
        " ", ""
    ).replace("\n", "")


def test_overlap_repeats_trailing_sentences(tokenizer):
    chunks = TokenChunker(tokenizer, chunk_tokens=24, overlap_tokens=12).split(KOREAN)
    repeated = [a for a, b in itertools.pairwise(chunks) if a.text.split(". ")[-1] in b.text]
    assert repeated


def test_whole_text_fits_in_one_chunk(tokenizer):
    chunks = TokenChunker(tokenizer, chunk_tokens=256, overlap_tokens=32).split(KOREAN)
    assert len(chunks) == 1
    assert chunks[0].text == KOREAN.strip()
    assert chunks[0].tokens == pytest.approx(count(tokenizer, KOREAN), abs=3)


def test_long_sentence_is_cut_at_token_boundaries(tokenizer):
    sentence = "가나다라마바사 " * 200  # no sentence end at all
    chunks = TokenChunker(tokenizer, chunk_tokens=50, overlap_tokens=10).split(sentence)
    assert len(chunks) > 5
    assert all(c.tokens <= 50 for c in chunks)
    assert all(count(tokenizer, c.text) <= 52 for c in chunks)


def test_english_sentences(tokenizer):
    text = "First sentence here. Second one follows! Third asks why? Fourth ends."
    chunks = TokenChunker(tokenizer, chunk_tokens=8, overlap_tokens=0).split(text)
    assert [c.text for c in chunks][:2] == ["First sentence here.", "Second one follows!"]


def test_blank_text_gives_no_chunks(tokenizer):
    assert TokenChunker(tokenizer, 32, 4).split(" \n\n \t ") == []


def test_overlap_must_be_below_size(tokenizer):
    with pytest.raises(ValueError, match="chunk_overlap"):
        TokenChunker(tokenizer, chunk_tokens=16, overlap_tokens=16)


RUN_ON = (
    "오늘 회의는 취소됐어요 내일 오전에 다시 잡을게요 자료는 미리 보내 주세요 "
    "발표 순서는 지난번과 같아요 질문이 있으면 언제든 연락 주세요 "
) * 6


def test_run_on_korean_is_split_by_kiwi_at_sentence_endings(tokenizer):
    assert "." not in RUN_ON and count(tokenizer, RUN_ON) > 64
    chunks = TokenChunker(tokenizer, chunk_tokens=64, overlap_tokens=0).split(RUN_ON)
    assert len(chunks) > 2
    for chunk in chunks:
        assert chunk.tokens <= 64
        assert chunk.text.endswith(("요", "세요")), chunk.text  # never cut inside a sentence


def test_abbreviations_initials_and_list_numbers_do_not_end_sentences(tokenizer):
    text = (
        "Dr. Smith joined the U.S. office in 2010. It grew fast.\n"
        "1. 개요 이 문서는 보안 규정을 다룹니다. See Fig. 3 for details."
    )
    # 14 tokens: every sentence fits alone, no two fit together.
    chunks = TokenChunker(tokenizer, chunk_tokens=14, overlap_tokens=0).split(text)
    texts = [c.text for c in chunks]
    assert "Dr. Smith joined the U.S. office in 2010." in texts
    assert "1. 개요 이 문서는 보안 규정을 다룹니다." in texts
    assert "See Fig. 3 for details." in texts


def test_table_that_fits_is_one_chunk(tokenizer):
    table = "요금제 | 월 요금\n기본 | 5,000원\n프로 | 9,000원"
    [chunk] = TokenChunker(tokenizer, chunk_tokens=64, overlap_tokens=8).split_table(table)
    assert chunk.text == table


def test_large_table_splits_between_rows_repeating_the_header(tokenizer):
    rows = ["이름 | 부서 | 내선"] + [f"직원{i} | 개발팀 | {1000 + i}" for i in range(40)]
    chunks = TokenChunker(tokenizer, chunk_tokens=64, overlap_tokens=8).split_table("\n".join(rows))
    assert len(chunks) > 3
    body_rows = []
    for chunk in chunks:
        lines = chunk.text.split("\n")
        assert lines[0] == rows[0]
        assert count(tokenizer, chunk.text) <= 64 + len(lines)  # rows measured one by one
        body_rows.extend(lines[1:])
    assert body_rows == rows[1:]  # every row exactly once, in order


def test_giant_line_without_spaces_is_cut_within_budget(tokenizer):
    line = "가나다라마바사아자차카타파하" * 5_000  # 70,000 characters, no space, no period
    chunks = TokenChunker(tokenizer, chunk_tokens=128, overlap_tokens=0).split(line)
    assert all(0 < c.tokens <= 128 for c in chunks)
    assert "".join(c.text for c in chunks) == line


def test_iter_chunks_matches_split_across_group_boundaries(tokenizer):
    text = "\n".join(f"문단 {i}입니다. 내용이 조금 있습니다." for i in range(6000))  # > 64 KB
    chunker = TokenChunker(tokenizer, chunk_tokens=48, overlap_tokens=12)
    chunks = chunker.split(text)
    assert len(text) > 128 * 1024 and len(chunks) > 100
    assert all(c.tokens <= 48 for c in chunks)
    assert chunks[-1].text.endswith("문단 5999입니다. 내용이 조금 있습니다.")
    for first, second in itertools.pairwise(chunks[:50]):
        assert second.text.split("\n")[0] in first.text  # overlap carried across chunks


def test_truncate_caps_a_caption_at_the_budget(tokenizer):
    caption = "아주 긴 설명입니다 " * 200
    piece = TokenChunker(tokenizer, chunk_tokens=32, overlap_tokens=4).truncate(caption)
    assert piece.tokens == 32 and caption.startswith(piece.text)


# --- token ids handed to the embedder -----------------------------------------------------------


def _corpus_documents() -> list[list]:
    """KorQuAD and XQuAD paragraphs, the benchmark statute and a Markdown page, as sections."""
    import json

    from devkit.datasets import dataset
    from devkit.statute import STATUTE
    from ingest.chunking.outline import sections
    from ingest.loaders import Segment

    documents = []
    for name in ("KorQuAD_v1.0_dev.json", "xquad.en.json"):
        data = json.loads((dataset(name)).read_text(encoding="utf-8"))["data"]
        contexts = [p["context"] for a in data[:3] for p in a["paragraphs"]]
        documents.extend([Segment(context)] for context in contexts)
    documents.append([Segment(STATUTE.read_text(encoding="utf-8"))])
    return [list(sections(blocks)) for blocks in documents]


def test_chunk_token_ids_equal_a_fresh_tokenization(embeddings):
    chunker = TokenChunker(embeddings.tokenizer, 128, 16)
    chunks = [c for _, c in chunker.chunk_documents(_corpus_documents())]
    given = [c for c in chunks if c.token_ids is not None]
    assert len(chunks) > 60 and len(given) >= 0.95 * len(chunks)
    for chunk in given:
        fresh = embeddings.tokenizer(chunk.text, add_special_tokens=False)["input_ids"]
        assert list(chunk.token_ids) == fresh, chunk.text[:40]
        assert len(fresh) == chunk.tokens


def test_the_embedder_frames_token_ids_as_its_own_preprocessing_does(embeddings):
    chunker = TokenChunker(embeddings.tokenizer, 128, 16)
    chunks = [
        c for _, c in chunker.chunk_documents(_corpus_documents()[:8] + _corpus_documents()[-1:])
    ]
    model = embeddings.model
    prompt = model.prompts.get("document") or model.prompts.get("passage")
    for chunk in chunks:
        own = model.preprocess([chunk.text], prompt=prompt, task="document")["input_ids"][0]
        assert embeddings.framed(chunk.token_ids or ()) == own.tolist()
    texts = [c.text for c in chunks]
    by_ids = embeddings.encode_documents(texts, token_ids=[c.token_ids for c in chunks])
    assert np.abs(by_ids - embeddings.encode_documents(texts)).max() < 1e-5


def test_a_tokenizer_that_keeps_spaces_in_its_tokens_hands_out_no_ids():
    from transformers import AutoTokenizer

    from devkit.models import offline_model_folders

    folder = next(
        d / "llama-3.1-tokenizer"
        for d in offline_model_folders()
        if (d / "llama-3.1-tokenizer").is_dir()
    )
    llama = AutoTokenizer.from_pretrained(str(folder))  # byte-level BPE: " word" is one token
    chunks = TokenChunker(llama, 32, 4).split(KOREAN + " Second sentence here. And a third one.")
    assert chunks and all(c.token_ids is None for c in chunks)


# --- repetitive text: the work is bounded by characters -----------------------------------------


@pytest.mark.parametrize(
    "text",
    ["a" * 1_500_000, "가나다라마바사" * 200_000, "가나다라마바사 " * 180_000],
    ids=["one letter", "one word", "one spaced word"],
)
def test_repetitive_text_is_tokenized_once_per_distinct_piece(tokenizer, text: str):
    from tests.support.tokenizers import CountingTokenizer

    counting = CountingTokenizer(tokenizer)
    chunker = TokenChunker(counting, 256, 32)
    counting.chars = 0
    produced = sum(1 for _ in chunker.iter_chunks(text))
    assert produced > 1000  # the whole text was chunked...
    assert counting.chars < 100_000  # ...tokenizing a few of its pieces, not all of it
