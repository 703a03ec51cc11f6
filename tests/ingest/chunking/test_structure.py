"""Chunks cut at the documents' own units: headings, statute articles and clauses, with paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devkit.statute import STATUTE, TITLE
from ingest.chunking.chunker import TokenChunker
from ingest.chunking.outline import Section, sections
from ingest.chunking.spans import TextChunk
from ingest.file_limits import Limits
from ingest.loaders import Figure, Segment, load
from tests.support.tokenizers import CountingTokenizer

_ARTICLE_LINE = re.compile(r"^(제\d+조(?:의\d+)?)(?:\(([^)]*)\))?", re.M)


@pytest.fixture(scope="module")
def tokenizer(embeddings):
    return embeddings.tokenizer


def count(tokenizer, text: str) -> int:
    return len(tokenizer.encode(text, add_special_tokens=False))


def chunked(chunker: TokenChunker, *documents: list) -> list[TextChunk]:
    found = [c for _, c in chunker.chunk_documents([sections(blocks) for blocks in documents])]
    assert all(isinstance(c, TextChunk) for c in found)
    return found


def markdown(tmp_path: Path, text: str) -> list:
    return load(tmp_path / "doc.md", text.encode(), Limits()).blocks


# --- headings ---------------------------------------------------------------------------------


def test_korean_markdown_sections_carry_their_heading_paths(tmp_path, tokenizer):
    text = (
        "# 사내 보안 규정\n이 규정은 모든 임직원에게 적용됩니다.\n\n"
        "## 비밀번호\n비밀번호는 12자 이상이어야 합니다. 비밀번호는 90일마다 바꿉니다. "
        "같은 비밀번호를 다른 서비스에 쓰지 않습니다.\n\n"
        "## 출입 관리\n출입증은 사내에서 항상 패용합니다. 방문객은 안내 데스크에서 등록합니다. "
        "분실한 출입증은 즉시 보안팀에 신고합니다.\n"
    )
    chunks = chunked(TokenChunker(tokenizer, 64, 8), markdown(tmp_path, text))
    assert [c.path for c in chunks] == [
        ("사내 보안 규정",),
        ("사내 보안 규정", "비밀번호"),
        ("사내 보안 규정", "출입 관리"),
    ]
    # The context line is the path above the section's own heading, which opens its passage.
    assert chunks[1].text == "사내 보안 규정\n" + chunks[1].passage
    assert chunks[1].passage.startswith("## 비밀번호\n비밀번호는 12자 이상")
    assert "출입" not in chunks[1].text and "비밀번호" not in chunks[2].text
    for chunk in chunks:
        assert chunk.tokens <= 64 and count(tokenizer, chunk.text) <= 64


def test_english_html_sections_carry_their_heading_paths(tmp_path, tokenizer):
    page = (
        "<html><head><title>Cloud Notes handbook</title></head><body>"
        "<h1>Accounts</h1><p>Every employee gets one account. Accounts are personal.</p>"
        "<h2>Passwords</h2><p>Passwords need at least twelve characters. Change them every "
        "ninety days. Never reuse a password on another service.</p>"
        "<h1>Offices</h1><p>Badges must be worn at all times inside the building.</p>"
        "</body></html>"
    )
    blocks = load(tmp_path / "handbook.html", page.encode(), Limits()).blocks
    chunks = chunked(TokenChunker(tokenizer, 48, 8), blocks)
    paths = [c.path for c in chunks]
    assert ("Cloud Notes handbook", "Accounts", "Passwords") in paths
    assert paths[-1] == ("Cloud Notes handbook", "Offices")
    [passwords] = [c for c in chunks if c.path[-1] == "Passwords"]
    assert passwords.text.startswith("Cloud Notes handbook > Accounts\nPasswords\n")
    assert "Badges" not in passwords.text


def test_small_sibling_sections_share_a_chunk_under_their_parent(tmp_path, tokenizer):
    text = "# 안내\n## 주차\n주차는 지하 2층입니다.\n## 식당\n식당은 1층입니다.\n## 긴 절\n" + (
        "이 절은 길게 이어지는 설명입니다. " * 12
    )
    chunks = chunked(TokenChunker(tokenizer, 96, 8), markdown(tmp_path, text))
    assert chunks[0].path == ("안내",)  # the parent: two small siblings in one chunk
    assert chunks[0].passage == "## 주차\n주차는 지하 2층입니다.\n## 식당\n식당은 1층입니다."
    assert all(c.path == ("안내", "긴 절") for c in chunks[1:])  # a large one stays alone


# --- statutes ---------------------------------------------------------------------------------


def article_spans(text: str) -> list[tuple[str, int, int]]:
    """(article, start, end) for every article of the statute, found without the outline; the
    addenda's articles are named ``부칙 제N조``."""
    addenda = text.index("\n부칙")
    starts = [
        (("부칙 " if m.start() > addenda else "") + m.group(1), m.start())
        for m in _ARTICLE_LINE.finditer(text)
    ]
    units = [m.start() for m in re.finditer(r"^(제\d+장|부칙)", text, re.M)]
    spans = []
    for number, (name, start) in enumerate(starts):
        following = [s for s in [*units, len(text)] if s > start]
        if number + 1 < len(starts):
            following.append(starts[number + 1][1])
        spans.append((name, start, min(following)))
    return spans


def test_statute_chunks_hold_one_article_each_and_carry_their_paths(tokenizer):
    text = STATUTE.read_text(encoding="utf-8")
    budget = 256
    chunker = TokenChunker(tokenizer, budget, 32)
    chunks = chunked(chunker, [Segment(text)])
    spans = article_spans(text)
    assert len(spans) >= 40
    long = {name for name, a, b in spans if count(tokenizer, text[a:b]) > budget}
    assert len(long) >= 5
    cursor, seen = 0, set()
    for chunk in chunks:
        assert chunk.path[0] == TITLE, chunk.path  # the file's first line is its title
        assert chunk.path[1].startswith(("제", "부칙")), chunk.path  # a chapter or the addenda
        assert chunk.tokens <= budget and count(tokenizer, chunk.text) <= budget
        first = chunk.passage.split("\n")[0]
        start = text.find(first, max(0, cursor - 400))
        end = text.find(chunk.passage.split("\n")[-1], start) + len(chunk.passage.split("\n")[-1])
        assert start >= 0 and end > start
        cursor = start
        inside = [name for name, a, b in spans if a < end and start < b]
        seen.update(inside)
        # However small, an article shares its chunk with no other (the statute has articles
        # of 40 tokens, several of which would fit one chunk).
        assert len(inside) == 1, inside
        assert chunk.path[-1].startswith(inside[0].removeprefix("부칙 ")), chunk.path
        # A chunk ends where a sentence or a line does, never inside a sentence.
        assert text[end : end + 1] in ("", "\n") or text[end - 1] in ".다)", chunk.passage
    assert seen == {name for name, _, _ in spans}
    small = [name for name, a, b in spans if count(tokenizer, text[a:b]) <= budget // 4]
    assert len(small) >= 5  # the case above could have happened
    # A long article is cut between its clauses: each of its chunks opens the article or one.
    for chunk in chunks:
        if chunk.path[-1].startswith("제19조"):
            assert re.match(r"제19조|[①-⑳]", chunk.passage), chunk.passage[:20]


def test_english_statute_chapters_and_articles(tokenizer):
    text = (
        "Data Protection Act\n\n"
        "Chapter 1 General Provisions\n\n"
        "Article 1 (Purpose) This Act protects the personal data of natural persons.\n"
        "Article 2 (Definitions) In this Act:\n"
        "(a) personal data means any information relating to a person;\n"
        "(b) processing means any operation performed on personal data.\n\n"
        "Chapter 2 Rights of the Data Subject\n\n"
        "Article 3 (Right of access) The data subject may obtain a copy of the personal data "
        "held about them. The controller shall answer within one month.\n"
    )
    chunks = chunked(TokenChunker(tokenizer, 64, 8), [Segment(text)])
    assert [c.path for c in chunks] == [
        ("Data Protection Act", "Chapter 1 General Provisions", "Article 1 (Purpose)"),
        ("Data Protection Act", "Chapter 1 General Provisions", "Article 2 (Definitions)"),
        (
            "Data Protection Act",
            "Chapter 2 Rights of the Data Subject",
            "Article 3 (Right of access)",
        ),
    ]
    assert chunks[2].text.startswith(
        "Data Protection Act > Chapter 2 Rights of the Data Subject\nArticle 3 (Right of access)"
    )


@pytest.mark.parametrize(
    ("text", "title", "chapter", "articles"),
    [
        (  # constitution style: one-sentence articles without titles
            "한솔공화국 헌법\n\n제3장 국회\n\n제26조 입법권은 국회에 속한다.\n\n"
            "제27조 ① 국회는 선거로 뽑힌 국회의원으로 구성한다.\n② 의원의 수는 법률로 정한다.\n\n"
            "제28조 국회의원의 임기는 4년으로 한다.\n",
            "한솔공화국 헌법",
            "제3장 국회",
            ["제26조", "제27조", "제28조"],
        ),
        (
            "Charter of the Republic\n\nChapter 3 The Legislature\n\n"
            "Article 26 Legislative power is vested in the Assembly.\n"
            "Article 27 (Term) The term of a member is four years.\n"
            "Article 28 A member shall not hold another public office.\n",
            "Charter of the Republic",
            "Chapter 3 The Legislature",
            ["Article 26", "Article 27 (Term)", "Article 28"],
        ),
    ],
    ids=["ko", "en"],
)
def test_short_articles_are_never_packed_together(tokenizer, text, title, chapter, articles):
    # All three fit one chunk many times over; each is the unit a question is about and an
    # answer cites, so each is a chunk, its line the path above it.
    chunks = chunked(TokenChunker(tokenizer, 256, 32), [Segment(text)])
    assert [c.path for c in chunks] == [(title, chapter, article) for article in articles]
    lines = [line for line in text.split("\n") if line.startswith(tuple(articles))]
    assert chunks[2].text == f"{title} > {chapter}\n{lines[-1]}"


def _long_article(opening: str, clause: str) -> str:
    return opening + " " + "\n".join(f"{mark} {clause}" for mark in "①②③④⑤⑥")


@pytest.mark.parametrize(
    ("title", "chapter", "opening", "clause"),
    [
        (
            "이용자 보호법",
            "제4장 이용자의 권리",
            "제19조(환불)",
            "사업자는 이용자가 청약을 철회한 경우 재화를 반환받은 날부터 3영업일 이내에 "
            "이미 지급받은 대금을 환급하여야 하며 이를 늦추어서는 아니 된다.",
        ),
        (
            "User Protection Act",
            "Chapter 4 Rights of Users",
            "Article 19 (Refunds)",
            "The operator shall refund the price already paid within three business days "
            "from the day the goods are returned, and shall not delay the refund.",
        ),
    ],
    ids=["ko", "en"],
)
def test_a_continued_article_names_itself_in_the_path_line(
    tokenizer, title, chapter, opening, clause
):
    # The first chunk opens with the article's own heading line; a later chunk starts at a
    # clause ("⑤ ..."), which does not say what it is about, so its line names the article.
    text = f"{title}\n\n{chapter}\n\n" + _long_article(opening, clause) + "\n"
    chunks = chunked(TokenChunker(tokenizer, 96, 16), [Segment(text)])
    assert len(chunks) > 1
    assert all(c.path == (title, chapter, opening) for c in chunks)
    assert chunks[0].text.startswith(f"{title} > {chapter}\n{opening} ①")
    for chunk in chunks[1:]:
        assert chunk.text.startswith(f"{title} > {chapter} > {opening}\n"), chunk.text[:60]
        assert re.match(r"[①-⑥]", chunk.passage), chunk.passage[:12]
        assert chunk.tokens <= 96 and count(tokenizer, chunk.text) <= 96


def test_references_to_articles_open_no_section():
    text = (
        "국회법 일부개정법률안\n\n제5조 ① 국회는 매년 정기회를 연다.\n"
        '제5조제1항 중 "정기회"를 "정기회의"로 한다.\n제5조 및 제6조를 삭제한다.\n'
        '제6조 중 "연다"를 "개최한다"로 한다.\n제3장에서 본 바와 같이 정한다.\n'
    )
    found = [s for s in sections([Segment(text)]) if isinstance(s, Section)]
    assert [s.path for s in found] == [("국회법 일부개정법률안", "제5조")]
    assert found[0].text.endswith("제3장에서 본 바와 같이 정한다.\n")


def test_clauses_stay_whole_when_an_article_is_split(tokenizer):
    clause = "이 항은 하나의 조항으로서 여러 문장을 담고 있으며 끝까지 한 덩어리로 읽혀야 한다"
    text = "제1조(목적) " + " ".join(
        f"{mark} {clause}. 둘째 문장도 같은 항에 속한다." for mark in "①②③④⑤"
    )
    chunks = TokenChunker(tokenizer, 80, 16).split(text)
    clauses = re.findall(r"[①-⑤]", text)
    assert len(chunks) > 1
    for chunk in chunks:
        assert re.match(r"제1조|[①-⑤]", chunk.text), chunk.text[:12]
        assert chunk.text.endswith("속한다."), chunk.text[-12:]
    assert "".join(re.findall(r"[①-⑤]", " ".join(c.text for c in chunks))) == "".join(clauses)


# --- many documents ----------------------------------------------------------------------------


def test_small_documents_share_tokenizer_calls_and_never_share_chunks(tokenizer):
    counting = CountingTokenizer(tokenizer)
    chunker = TokenChunker(counting, 256, 32)
    counting.calls = 0
    documents = [[Segment(f"문서 {i}의 본문입니다. 두 번째 문장입니다.")] for i in range(12)]
    found = list(chunker.chunk_documents([sections(d) for d in documents]))
    assert [number for number, _ in found] == list(range(12))
    assert all(c.text == d[0].text for (_, c), d in zip(found, documents, strict=True))
    assert counting.calls == 1


def test_figures_pass_through_in_their_place(tmp_path, tokenizer):
    from PIL import Image

    figure = Figure(Image.new("RGB", (4, 4)), ("그림",))
    blocks = [Segment("첫 문단입니다."), figure, Segment("둘째 문단입니다.")]
    found = [c for _, c in TokenChunker(tokenizer, 64, 8).chunk_documents([sections(blocks)])]
    assert [c if isinstance(c, Figure) else c.text for c in found] == [
        "첫 문단입니다.",
        figure,
        "둘째 문단입니다.",
    ]


def test_without_structure_each_block_is_plain_prose(tmp_path, tokenizer):
    text = "# 제목\n첫 문장입니다.\n## 절\n① 둘째 문장입니다. ② 셋째 문장입니다."
    plain = TokenChunker(tokenizer, 12, 0, structure=False)
    blocks = markdown(tmp_path, text)
    found = [c for _, c in plain.chunk_documents([sections(blocks, structure=False)])]
    assert all(c.path == () and c.passage == c.text for c in found)
    assert [c.text for c in found] == [c.text for c in plain.split(text)]
