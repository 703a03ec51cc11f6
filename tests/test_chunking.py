"""Token-sized, sentence-aligned chunks measured with the embedder's tokenizer."""

from __future__ import annotations

import itertools

import pytest

from ingest.chunking import TokenChunker

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
